// Causal depthwise convolution with a shift-register state (based-math.md d; Reference.causalConv):
//   out[b,t,c] = Σ_j w[c,j]·u[b, t−K+1+j, c], inputs before the call taken from window [B][C][K] (oldest first),
// then window = the last K inputs. x, out [B, L, C]; w [C, K], the last tap on the current token.
#include "b4j_common.cuh"

// One thread per output element; reads the old window, so conv_window_update must follow (same stream).
template <typename T>
__device__ void causal_conv_impl(const T* x, const T* w, const T* window, T* out, int B, int L, int C, int K) {
    const i64 total = (i64)B * L * C;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const int c = (int)(idx % C);
        const i64 bt = idx / C;
        const int t = (int)(bt % L);
        const i64 b = bt / L;
        T s = 0;
        for (int j = 0; j < K; ++j) {
            const int src = t - K + 1 + j;
            const T u = src >= 0 ? x[(b * L + src) * C + c] : window[(b * C + c) * K + (K + src)];
            s += w[(i64)c * K + j] * u;
        }
        out[idx] = s;
    }
}

// One thread per (b, c): slot j takes input L−K+j, or old slot j+L when that index precedes the call. Slots
// are rewritten in ascending order and each reads a higher one, so the shift is safe in place.
template <typename T>
__device__ void conv_window_update_impl(const T* x, T* window, int B, int L, int C, int K) {
    const i64 total = (i64)B * C;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const int c = (int)(idx % C);
        const i64 b = idx / C;
        T* win = window + idx * K;
        for (int j = 0; j < K; ++j) {
            const int src = L - K + j;
            win[j] = src >= 0 ? x[(b * L + src) * C + c] : win[j + L];
        }
    }
}

// out == x: one thread per (b, c) walks the sequence, keeping the last K inputs in a circular register file,
// so every input is read before its slot of out is written; the window is updated at the end. K ≤ 64.
template <typename T>
__device__ void causal_conv_inplace_impl(T* x, const T* w, T* window, int B, int L, int C, int K) {
    const i64 total = (i64)B * C;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const int c = (int)(idx % C);
        const i64 b = idx / C;
        T hist[64];
        T* win = window + idx * K;
        for (int j = 0; j < K; ++j) hist[j] = win[j];
        int head = 0;  // hist[head] is the oldest input
        for (int t = 0; t < L; ++t) {
            const i64 o = (b * L + t) * C + c;
            hist[head] = x[o];
            head = head + 1 == K ? 0 : head + 1;
            T s = 0;
            int p = head;
            for (int j = 0; j < K; ++j) {
                s += w[(i64)c * K + j] * hist[p];
                p = p + 1 == K ? 0 : p + 1;
            }
            x[o] = s;
        }
        int p = head;
        for (int j = 0; j < K; ++j) {
            win[j] = hist[p];
            p = p + 1 == K ? 0 : p + 1;
        }
    }
}

#define B4J_CONV(T, SUF)                                                                                      \
    extern "C" __global__ void causal_conv_##SUF(const T* x, const T* w, const T* window, T* out, int B, int L, \
                                                 int C, int K) {                                              \
        causal_conv_impl<T>(x, w, window, out, B, L, C, K);                                                   \
    }                                                                                                         \
    B4J_EXPORT(causal_conv_##SUF)                                                                             \
    extern "C" __global__ void conv_window_update_##SUF(const T* x, T* window, int B, int L, int C, int K) {   \
        conv_window_update_impl<T>(x, window, B, L, C, K);                                                    \
    }                                                                                                         \
    B4J_EXPORT(conv_window_update_##SUF)                                                                      \
    extern "C" __global__ void causal_conv_inplace_##SUF(T* x, const T* w, T* window, int B, int L, int C,     \
                                                         int K) {                                             \
        causal_conv_inplace_impl<T>(x, w, window, B, L, C, K);                                                \
    }                                                                                                         \
    B4J_EXPORT(causal_conv_inplace_##SUF)

B4J_CONV(float, f32)
B4J_CONV(double, f64)
