// The feature maps φ of the SDK, one output element at a time, so that any kernel can compute exactly the
// features it needs (spec/sdk-conventions.md "Feature maps", golden/FORMAT.md op feature_map). The map kinds
// are the ordinals of dev.based4j.featuremap.FeatureMap.Kind. Constants are formed in double and rounded
// once, as the float64 reference forms them.
#ifndef B4J_FEATURE_MAP_CUH
#define B4J_FEATURE_MAP_CUH

#include "b4j_common.cuh"

namespace b4j {

enum MapKind { TAYLOR = 0, IDENTITY = 1, RELU = 2, POSELU = 3, SQUARE = 4, COSFORMER = 5, PERFORMER = 6, ALLPOLY = 7 };

// Element o of φ(x) for one input vector x of dimension d, token pos of a call of len tokens.
// outDim: φ's output dimension (Performer: M). eps: ReLU's floor. w1, w2: Performer's M×d projection, or
// AllPoly's P1 and P2 (d×d), row-major.
template <typename T>
__device__ __forceinline__ T phi_elem(int kind, const T* x, int d, int outDim, int o, int pos, int len, T eps,
                                      const T* w1, const T* w2) {
    switch (kind) {
        case TAYLOR: {
            // [1, x/f^¼, (x⊗x)/(√2·√f)], full row-major outer product (based-math.md a)
            if (o == 0) return (T)1;
            if (o <= d) return x[o - 1] * (T)(1.0 / sqrt(sqrt((double)d)));
            const int r = o - 1 - d;
            const int i = r / d;
            const int j = r - i * d;
            return x[i] * (T)(1.0 / (sqrt(2.0) * sqrt((double)d))) * x[j];
        }
        case IDENTITY:
            return x[o];
        case RELU: {
            const T v = max_(x[o], (T)0);
            return max_(v, eps);
        }
        case POSELU: {
            const T v = x[o];
            return v > (T)0 ? v + (T)1 : exp_(v);
        }
        case SQUARE:
            return x[o] * x[o];
        case COSFORMER: {
            // θ_t = π(t+1)/(2L), formed in double as the reference does
            const double theta = 3.141592653589793 * (double)(pos + 1) / (2.0 * (double)len);
            if (o < d) return max_(x[o], (T)0) * (T)sin(theta);
            return max_(x[o - d], (T)0) * (T)cos(theta);
        }
        case PERFORMER: {
            // x̃ = x/d^¼; exp(W_o·x̃ − ½|x̃|²)/√M
            const T s = (T)(1.0 / sqrt(sqrt((double)d)));
            T norm2 = 0;
            T dot = 0;
            for (int i = 0; i < d; ++i) {
                const T xs = x[i] * s;
                norm2 += xs * xs;
                dot += w1[(i64)o * d + i] * xs;
            }
            return exp_(dot - (T)0.5 * norm2) * (T)(1.0 / sqrt((double)outDim));
        }
        case ALLPOLY: {
            // ((P1 x)² + P2 (x²))/√2
            T a = 0;
            T b = 0;
            for (int i = 0; i < d; ++i) {
                const T xi = x[i];
                a += w1[(i64)o * d + i] * xi;
                b += w2[(i64)o * d + i] * xi * xi;
            }
            return (a * a + b) / (T)sqrt(2.0);
        }
        default:
            return (T)0;
    }
}

}  // namespace b4j

#endif
