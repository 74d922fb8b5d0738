// Feature maps φ over the last dimension: x [rows, seq, d] → out [rows, seq, D]. One thread per output
// element; the input vector is re-read from the cache by each of its D outputs, which is cheap next to D.
#include "b4j_feature_map.cuh"

template <typename T>
__device__ void feature_map_impl(const T* x, T* out, int rows, int seq, int d, int outDim, int kind, T eps,
                                 const T* w1, const T* w2) {
    const i64 total = (i64)rows * seq * outDim;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const i64 vec = idx / outDim;
        const int o = (int)(idx - vec * outDim);
        const int t = (int)(vec % seq);
        out[idx] = b4j::phi_elem<T>(kind, x + vec * d, d, outDim, o, t, seq, eps, w1, w2);
    }
}

#define B4J_FEATURE_MAP(T, SUF)                                                                              \
    extern "C" __global__ void feature_map_##SUF(const T* x, T* out, int rows, int seq, int d, int outDim,   \
                                                 int kind, T eps, const T* w1, const T* w2) {               \
        feature_map_impl<T>(x, out, rows, seq, d, outDim, kind, eps, w1, w2);                                \
    }                                                                                                        \
    B4J_EXPORT(feature_map_##SUF)

B4J_FEATURE_MAP(float, f32)
B4J_FEATURE_MAP(double, f64)
