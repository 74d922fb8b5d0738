// Test double of the CUDA execution model, for running the backend's kernels on a machine without a GPU.
// The .cu sources compile as plain C++ against this header (B4J_EMULATOR): every CUDA thread of a block is a
// fiber with its own stack, blocks run one after another, and __syncthreads, __syncwarp and the warp shuffles
// are real barriers among the fibers, so a missing barrier, a divergent barrier or a shuffle with exited lanes
// shows up as a wrong result or an abort with a message, as it would on a GPU (often less forgivingly).
// It is not a model of performance, and float rounding (FMA contraction, expf/erff) may differ in the last bits.
#ifndef B4J_EMULATOR_H
#define B4J_EMULATOR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <utility>

#define __global__
#define __device__ inline
#define __host__
#define __forceinline__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

struct dim3 {
    unsigned x, y, z;
};

namespace b4j_emu {

const dim3& thread_idx();
const dim3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();
unsigned char* dynamic_smem();
void sync_block();
void sync_warp();
uint64_t exchange(uint64_t value, int srcLane, bool xorMode);
[[noreturn]] void fail(const char* what);

template <typename T> inline T shuffle(T v, int lane, bool xorMode) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    uint64_t r = exchange(bits, lane, xorMode);
    T out;
    memcpy(&out, &r, sizeof(T));
    return out;
}

using Entry = std::function<void(void**)>;
void register_kernel(const char* name, Entry entry);

// Unpacks cuLaunchKernel's kernelParams (pointers to each argument's value) into a call.
template <typename... A, size_t... I>
inline void call_with(void (*f)(A...), void** params, std::index_sequence<I...>) {
    f(*static_cast<A*>(params[I])...);
}

struct Registrar {
    template <typename... A> Registrar(const char* name, void (*f)(A...)) {
        register_kernel(name, [f](void** params) { call_with(f, params, std::index_sequence_for<A...>{}); });
    }
};

}  // namespace b4j_emu

#define B4J_EMU_REGISTER(name) static b4j_emu::Registrar b4j_registrar_##name(#name, &name);

#define threadIdx (b4j_emu::thread_idx())
#define blockIdx (b4j_emu::block_idx())
#define blockDim (b4j_emu::block_dim())
#define gridDim (b4j_emu::grid_dim())

inline void __syncthreads() { b4j_emu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { b4j_emu::sync_warp(); }

template <typename T> inline T __shfl_sync(unsigned mask, T v, int src) {
    if (mask != 0xffffffffu) b4j_emu::fail("__shfl_sync with a partial mask is not emulated");
    return b4j_emu::shuffle(v, src & 31, false);
}
template <typename T> inline T __shfl_xor_sync(unsigned mask, T v, int laneMask) {
    if (mask != 0xffffffffu) b4j_emu::fail("__shfl_xor_sync with a partial mask is not emulated");
    return b4j_emu::shuffle(v, laneMask & 31, true);
}

inline float __int_as_float(int i) {
    float f;
    memcpy(&f, &i, 4);
    return f;
}
inline double __longlong_as_double(long long i) {
    double d;
    memcpy(&d, &i, 8);
    return d;
}

// one OS thread runs all fibers of a block, so plain read-modify-write is atomic here
inline float atomicAdd(float* p, float v) {
    float old = *p;
    *p = old + v;
    return old;
}
inline double atomicAdd(double* p, double v) {
    double old = *p;
    *p = old + v;
    return old;
}

#endif
