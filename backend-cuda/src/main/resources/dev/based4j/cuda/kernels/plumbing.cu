// Model plumbing: the matrix multiply with a weight, RMSNorm, activations, element-wise ops, embedding
// gather, rotary and the head/column reshuffles. Element-wise kernels use grid-stride loops and tolerate
// out == input (the API allows in-place use where it does not forbid aliasing).
#include "b4j_common.cuh"

// ------------------------------------------------------------------------------------------ weight storage

// The weights of linear and embedding may be stored narrower than the compute type T: bf16, f16, or int8 with
// a scale per output row (group = K) or per group of `group` inputs of a row. Each element is widened to T
// where it is loaded (and scaled, for int8), so products and sums run in T exactly as with T weights. The 16-bit
// types are plain bit containers: the conversions below are integer operations that compile the same with nvcc,
// NVRTC (no cuda_fp16.h / cuda_bf16.h, which NVRTC cannot always include) and the CPU emulator, so the emulator
// runs the very conversion the GPU runs.
struct b4j_bf16 {
    unsigned short bits;
};
struct b4j_f16 {
    unsigned short bits;
};
typedef signed char b4j_i8;

namespace b4j {

// bfloat16 is the upper half of a binary32: every value converts exactly
__device__ __forceinline__ float bf16_to_float(unsigned short h) { return __int_as_float((int)((unsigned)h << 16)); }

// IEEE binary16 → binary32, exactly: rebias the exponent (15 → 127), widen the mantissa; subnormal halves are
// m·2^-24, normal floats
__device__ __forceinline__ float f16_to_float(unsigned short h) {
    const unsigned sign = (unsigned)(h & 0x8000u) << 16;
    const unsigned exponent = (h >> 10) & 0x1fu;
    const unsigned mantissa = h & 0x3ffu;
    if (exponent == 0x1fu) return __int_as_float((int)(sign | 0x7f800000u | (mantissa << 13)));
    if (exponent == 0) {
        const float magnitude = (float)mantissa * 5.9604644775390625e-8f;  // 2^-24
        return sign != 0 ? -magnitude : magnitude;
    }
    return __int_as_float((int)(sign | ((exponent + 112u) << 23) | (mantissa << 13)));
}

template <typename T> __device__ __forceinline__ T widen(float v) { return (T)v; }
template <typename T> __device__ __forceinline__ T widen(double v) { return (T)v; }
template <typename T> __device__ __forceinline__ T widen(b4j_bf16 v) { return (T)bf16_to_float(v.bits); }
template <typename T> __device__ __forceinline__ T widen(b4j_f16 v) { return (T)f16_to_float(v.bits); }
template <typename T> __device__ __forceinline__ T widen(b4j_i8 v) { return (T)v; }

// The value of weight element (row, k) of rows of K inputs, in T: SCALED (int8) multiplies by the scale of its
// row's group, scales [rows, K / group]
template <typename T, typename W, bool SCALED>
__device__ __forceinline__ T weight_at(const W* w, const T* scales, int group, int row, int k, int K) {
    const T v = widen<T>(w[(i64)row * K + k]);
    if constexpr (SCALED) {
        return v * scales[(i64)row * (K / group) + k / group];
    } else {
        return v;
    }
}

}  // namespace b4j

#define B4J_GRID_STRIDE(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)

// ------------------------------------------------------------------------------------------ element-wise

template <typename T> __device__ void silu_impl(const T* x, T* out, i64 n) {
    B4J_GRID_STRIDE(i, n) {
        const T v = x[i];
        out[i] = v / ((T)1 + b4j::exp_(-v));
    }
}

template <typename T> __device__ void gelu_impl(const T* x, T* out, i64 n) {
    // exact GELU: x/2·(1 + erf(x/√2))
    B4J_GRID_STRIDE(i, n) {
        const T v = x[i];
        out[i] = (T)0.5 * v * ((T)1 + b4j::erf_(v / (T)sqrt(2.0)));
    }
}

template <typename T> __device__ void add_impl(const T* a, const T* b, T* out, i64 n) {
    B4J_GRID_STRIDE(i, n) { out[i] = a[i] + b[i]; }
}

template <typename T> __device__ void mul_impl(const T* a, const T* b, T* out, i64 n) {
    B4J_GRID_STRIDE(i, n) { out[i] = a[i] * b[i]; }
}

// ------------------------------------------------------------------------------------------ RMSNorm

// One block per row: y = x / sqrt(mean(x²) + eps) · w (based-math.md e, "Norm"). Every thread reads back
// only the elements it writes, so out == x is safe.
template <typename T> __device__ void rms_norm_impl(const T* x, const T* w, T* out, int d, T eps) {
    B4J_SMEM(smem);
    T* scratch = (T*)smem;
    const i64 row = blockIdx.x;
    const T* xr = x + row * d;
    T ss = 0;
    for (int i = threadIdx.x; i < d; i += blockDim.x) ss += xr[i] * xr[i];
    ss = b4j::block_sum(ss, scratch);
    const T inv = (T)1 / b4j::sqrt_(ss / (T)d + eps);
    T* yr = out + row * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = xr[i] * inv * w[i];
}

// ------------------------------------------------------------------------------------------ linear

// out[M×N] = x[M×K] · W[N×K]ᵀ (+ bias[N]). Both operands are K-contiguous ("NT"), so each 64×64 output tile
// stages 16-wide K slices of both into shared memory transposed (k-major), and each of the 256 threads
// accumulates a 4×4 register tile: 8 shared loads per 16 FMAs. Plain FP32/FP64 FMAs, no tensor cores: TF32
// would miss the 1e-5 float32 tolerance. Weights stored as W are widened (and scaled) as the tile is staged, so
// the inner loop is the same for every storage format.
template <typename T, typename W, bool SCALED>
__device__ void linear_impl(const T* A, const W* B, const T* scales, int group, const T* bias, T* C, int M, int N,
                            int K) {
    constexpr int TILE = 64, BK = 16, LD = TILE + 4;
    B4J_SMEM(smem);
    T* As = (T*)smem;       // [BK][LD]
    T* Bs = As + BK * LD;   // [BK][LD]
    const int tid = threadIdx.x;
    const int m0 = blockIdx.y * TILE;
    const int n0 = blockIdx.x * TILE;
    const int tm = (tid >> 4) * 4;
    const int tn = (tid & 15) * 4;
    const int lr = tid >> 2;        // row of the tile this thread stages
    const int lk = (tid & 3) * 4;   // first of its 4 k values
    T acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = 0;
    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            const int k = k0 + lk + q;
            const bool kin = k < K;
            As[(lk + q) * LD + lr] = (kin && m0 + lr < M) ? A[(i64)(m0 + lr) * K + k] : (T)0;
            Bs[(lk + q) * LD + lr] =
                (kin && n0 + lr < N) ? b4j::weight_at<T, W, SCALED>(B, scales, group, n0 + lr, k, K) : (T)0;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            T a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) a[i] = As[kk * LD + tm + i];
#pragma unroll
            for (int j = 0; j < 4; ++j) b[j] = Bs[kk * LD + tn + j];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + tm + i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + tn + j;
            if (n < N) C[(i64)m * N + n] = acc[i][j] + (bias != nullptr ? bias[n] : (T)0);
        }
    }
}

// ------------------------------------------------------------------------------------------ gathers

// out[i, :] = table[ids[i], :] widened to T (and scaled per row or per group of columns for int8), one block per
// token id
template <typename T, typename W, bool SCALED>
__device__ void embedding_impl(const W* table, const T* scales, int group, const int* ids, T* out, int d) {
    const i64 i = blockIdx.x;
    const int row = ids[i];
    T* dst = out + i * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        dst[c] = b4j::weight_at<T, W, SCALED>(table, scales, group, row, c, d);
    }
}

// GPT-NeoX rotate-halves rotary on x [rows, seq, d]; token t at absolute position start + t. One thread per
// rotated pair (it reads both halves before writing either, so out == x is safe) or per passed-through
// element. The angle is formed in double as the reference forms it: in float, position·θ loses the 1e-5
// tolerance already at a few thousand tokens.
template <typename T>
__device__ void rotary_impl(const T* x, T* out, int rows, int seq, int d, i64 start, int rotaryDim, double base) {
    const int half = rotaryDim / 2;
    const int per = half + (d - rotaryDim);
    const i64 total = (i64)rows * seq * per;
    B4J_GRID_STRIDE(idx, total) {
        const i64 vec = idx / per;
        const int i = (int)(idx - vec * per);
        const i64 o = vec * d;
        if (i < half) {
            const double pos = (double)(start + vec % seq);
            const double theta = pos * pow(base, -2.0 * i / rotaryDim);
            const T c = (T)cos(theta);
            const T s = (T)sin(theta);
            const T a = x[o + i];
            const T b = x[o + i + half];
            out[o + i] = a * c - b * s;
            out[o + i + half] = a * s + b * c;
        } else {
            const int j = rotaryDim + (i - half);
            out[o + j] = x[o + j];
        }
    }
}

// x [B, L, H·d] → out [B, H, L, d], one thread per output element
template <typename T> __device__ void split_heads_impl(const T* x, T* out, int B, int L, int H, int d) {
    const i64 total = (i64)B * L * H * d;
    B4J_GRID_STRIDE(idx, total) {
        const int c = (int)(idx % d);
        const i64 r = idx / d;
        const int t = (int)(r % L);
        const i64 bh = r / L;
        const int h = (int)(bh % H);
        const i64 b = bh / H;
        out[idx] = x[((b * L + t) * H + h) * d + c];
    }
}

// x [B, H, L, d] → out [B, L, H·d]
template <typename T> __device__ void merge_heads_impl(const T* x, T* out, int B, int H, int L, int d) {
    const i64 total = (i64)B * L * H * d;
    B4J_GRID_STRIDE(idx, total) {
        const int c = (int)(idx % d);
        const i64 r = idx / d;
        const int h = (int)(r % H);
        const i64 bt = r / H;
        const int t = (int)(bt % L);
        const i64 b = bt / L;
        out[idx] = x[((b * H + h) * L + t) * d + c];
    }
}

// columns [from, from + width) of x [rows, n]
template <typename T> __device__ void slice_impl(const T* x, T* out, i64 rows, int n, int from, int width) {
    const i64 total = rows * width;
    B4J_GRID_STRIDE(idx, total) {
        const i64 r = idx / width;
        const int c = (int)(idx - r * width);
        out[idx] = x[r * n + from + c];
    }
}

// ------------------------------------------------------------------------------------------ exports

#define B4J_PLUMBING(T, SUF)                                                                                 \
    extern "C" __global__ void silu_##SUF(const T* x, T* out, i64 n) { silu_impl<T>(x, out, n); }           \
    B4J_EXPORT(silu_##SUF)                                                                                   \
    extern "C" __global__ void gelu_##SUF(const T* x, T* out, i64 n) { gelu_impl<T>(x, out, n); }           \
    B4J_EXPORT(gelu_##SUF)                                                                                   \
    extern "C" __global__ void add_##SUF(const T* a, const T* b, T* out, i64 n) { add_impl<T>(a, b, out, n); } \
    B4J_EXPORT(add_##SUF)                                                                                    \
    extern "C" __global__ void mul_##SUF(const T* a, const T* b, T* out, i64 n) { mul_impl<T>(a, b, out, n); } \
    B4J_EXPORT(mul_##SUF)                                                                                    \
    extern "C" __global__ void rms_norm_##SUF(const T* x, const T* w, T* out, int d, T eps) {                \
        rms_norm_impl<T>(x, w, out, d, eps);                                                                 \
    }                                                                                                        \
    B4J_EXPORT(rms_norm_##SUF)                                                                               \
    extern "C" __global__ void __launch_bounds__(256) linear_##SUF(const T* x, const T* w, const T* bias,    \
                                                                   T* out, int M, int N, int K) {            \
        linear_impl<T, T, false>(x, w, nullptr, 0, bias, out, M, N, K);                                      \
    }                                                                                                        \
    B4J_EXPORT(linear_##SUF)                                                                                 \
    extern "C" __global__ void embedding_##SUF(const T* table, const int* ids, T* out, int d) {              \
        embedding_impl<T, T, false>(table, nullptr, 0, ids, out, d);                                         \
    }                                                                                                        \
    B4J_EXPORT(embedding_##SUF)                                                                              \
    extern "C" __global__ void rotary_##SUF(const T* x, T* out, int rows, int seq, int d, i64 start,         \
                                            int rotaryDim, double base) {                                    \
        rotary_impl<T>(x, out, rows, seq, d, start, rotaryDim, base);                                        \
    }                                                                                                        \
    B4J_EXPORT(rotary_##SUF)                                                                                 \
    extern "C" __global__ void split_heads_##SUF(const T* x, T* out, int B, int L, int H, int d) {            \
        split_heads_impl<T>(x, out, B, L, H, d);                                                             \
    }                                                                                                        \
    B4J_EXPORT(split_heads_##SUF)                                                                            \
    extern "C" __global__ void merge_heads_##SUF(const T* x, T* out, int B, int H, int L, int d) {            \
        merge_heads_impl<T>(x, out, B, H, L, d);                                                             \
    }                                                                                                        \
    B4J_EXPORT(merge_heads_##SUF)                                                                            \
    extern "C" __global__ void slice_##SUF(const T* x, T* out, i64 rows, int n, int from, int width) {        \
        slice_impl<T>(x, out, rows, n, from, width);                                                         \
    }                                                                                                        \
    B4J_EXPORT(slice_##SUF)

B4J_PLUMBING(float, f32)
B4J_PLUMBING(double, f64)

// linear and embedding with weights stored as W (suffix WSUF): scales and group are read for int8 only
#define B4J_WEIGHTS(T, SUF, W, WSUF, SCALED)                                                                 \
    extern "C" __global__ void __launch_bounds__(256)                                                        \
        linear_##WSUF##_##SUF(const T* x, const W* w, const T* scales, int group, const T* bias, T* out, int M, \
                              int N, int K) {                                                                \
        linear_impl<T, W, SCALED>(x, w, scales, group, bias, out, M, N, K);                                  \
    }                                                                                                        \
    B4J_EXPORT(linear_##WSUF##_##SUF)                                                                        \
    extern "C" __global__ void embedding_##WSUF##_##SUF(const W* table, const T* scales, int group,           \
                                                        const int* ids, T* out, int d) {                     \
        embedding_impl<T, W, SCALED>(table, scales, group, ids, out, d);                                     \
    }                                                                                                        \
    B4J_EXPORT(embedding_##WSUF##_##SUF)

B4J_WEIGHTS(float, f32, b4j_bf16, bf16, false)
B4J_WEIGHTS(double, f64, b4j_bf16, bf16, false)
B4J_WEIGHTS(float, f32, b4j_f16, f16, false)
B4J_WEIGHTS(double, f64, b4j_f16, f16, false)
B4J_WEIGHTS(float, f32, b4j_i8, i8, true)
B4J_WEIGHTS(double, f64, b4j_i8, i8, true)
