// Shared helpers of the based4j CUDA kernels. Every kernel is instantiated for float (suffix _f32) and
// double (suffix _f64) with C linkage, so the host finds it by a plain name. The sources compile with nvcc
// (ahead of time, to PTX), with NVRTC (at run time) and, for the project's tests on machines without a GPU,
// as plain C++ against the driver emulator (B4J_EMULATOR). They therefore include no system headers and use
// only dynamic shared memory (the emulator poisons it per block, which catches reads of unwritten smem).
#ifndef B4J_COMMON_CUH
#define B4J_COMMON_CUH

#ifdef B4J_EMULATOR
#include "b4j_emulator.h"
#define B4J_SMEM(name) unsigned char* name = b4j_emu::dynamic_smem()
#define B4J_EXPORT(name) B4J_EMU_REGISTER(name)
#else
#define B4J_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#define B4J_EXPORT(name)
#endif

typedef long long i64;

namespace b4j {

__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float sqrt_(float x) { return sqrtf(x); }
__device__ __forceinline__ double sqrt_(double x) { return sqrt(x); }
__device__ __forceinline__ float erf_(float x) { return erff(x); }
__device__ __forceinline__ double erf_(double x) { return erf(x); }
__device__ __forceinline__ float max_(float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ double max_(double a, double b) { return fmax(a, b); }
__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int imax(int a, int b) { return a > b ? a : b; }
__device__ __forceinline__ i64 lmin(i64 a, i64 b) { return a < b ? a : b; }
__device__ __forceinline__ i64 lmax(i64 a, i64 b) { return a > b ? a : b; }

template <typename T> __device__ __forceinline__ T neg_inf();
template <> __device__ __forceinline__ float neg_inf<float>() { return __int_as_float(0xff800000); }
template <> __device__ __forceinline__ double neg_inf<double>() {
    return __longlong_as_double((long long)0xfff0000000000000ULL);
}

// Butterfly reductions over the 32 lanes of a warp; every lane gets the result. Callers keep whole warps
// active (no early exit before a reduction).
template <typename T> __device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename T> __device__ __forceinline__ T warp_max(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = max_(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block; blockDim.x a multiple of 32, at most 1024. scratch holds 32 values. Ends with a barrier
// after which scratch may be reused.
template <typename T> __device__ __forceinline__ T block_sum(T v, T* scratch) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T total = 0;
    for (int w = 0; w < warps; ++w) total += scratch[w];
    __syncthreads();
    return total;
}

}  // namespace b4j

#endif
