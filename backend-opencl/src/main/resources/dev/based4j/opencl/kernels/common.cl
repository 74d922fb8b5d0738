/*
 * Prepended to every based4j OpenCL program. REAL is the element type, given at build time
 * (-DREAL=float, or -DREAL=double -DREAL_IS_DOUBLE=1 on devices with cl_khr_fp64): one source, two precisions.
 */
#ifdef REAL_IS_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define RC(x) x
#else
#define RC(x) x##f
#endif

/* Feature-map kinds, in the order of dev.based4j.featuremap.FeatureMap.Kind. */
#define FM_TAYLOR 0
#define FM_IDENTITY 1
#define FM_RELU 2
#define FM_POSELU 3
#define FM_SQUARE 4
#define FM_COSFORMER 5
#define FM_PERFORMER 6
#define FM_ALLPOLY 7

/*
 * Element o of φ(x) for one input row x of d values (based-math.md a and f, golden/FORMAT.md "feature_map").
 * The host passes each map's constants, computed in double, as a and b:
 *   Taylor     a = f^-1/4, b = 1/(√2·√f)     [1, x·a, (x_i·b)·x_j row-major]
 *   ReLU       a = eps (the floor)
 *   CosFormer  a = π/(2L) for a call of L tokens; θ_t = (t+1)·a
 *   Performer  a = d^-1/4, b = 1/√M; w1 = W [M, d]
 *   AllPoly    a = √2; w1 = P1, w2 = P2 [d, d]
 * Performer and AllPoly recompute their d-length sums per output element: d is small (16–64), and it keeps every
 * element independent so one work-item computes one element.
 */
inline REAL phi_at(const int kind, __global const REAL* x, const int d, const int o, const int position,
                   __global const REAL* w1, __global const REAL* w2, const REAL a, const REAL b) {
    switch (kind) {
    case FM_TAYLOR:
        if (o == 0) {
            return RC(1.0);
        }
        if (o <= d) {
            return x[o - 1] * a;
        } else {
            const int r = o - 1 - d;
            return (x[r / d] * b) * x[r % d];
        }
    case FM_IDENTITY:
        return x[o];
    case FM_RELU:
        return fmax(fmax(x[o], RC(0.0)), a);
    case FM_POSELU: {
        const REAL v = x[o];
        return v > 0 ? v + RC(1.0) : exp(v);
    }
    case FM_SQUARE:
        return x[o] * x[o];
    case FM_COSFORMER: {
        const REAL theta = (REAL) (position + 1) * a;
        return o < d ? fmax(x[o], RC(0.0)) * sin(theta) : fmax(x[o - d], RC(0.0)) * cos(theta);
    }
    case FM_PERFORMER: {
        REAL norm2 = 0;
        REAL dot = 0;
        __global const REAL* wr = w1 + (size_t) o * d;
        for (int i = 0; i < d; i++) {
            const REAL xs = x[i] * a;
            norm2 += xs * xs;
            dot += wr[i] * xs;
        }
        return exp(dot - RC(0.5) * norm2) * b;
    }
    case FM_ALLPOLY: {
        REAL p = 0;
        REAL s = 0;
        __global const REAL* r1 = w1 + (size_t) o * d;
        __global const REAL* r2 = w2 + (size_t) o * d;
        for (int i = 0; i < d; i++) {
            const REAL xi = x[i];
            p += r1[i] * xi;
            s += r2[i] * xi * xi;
        }
        return (p * p + s) / a;
    }
    default:
        return 0;
    }
}

/*
 * Explicit SIMD: VW (1, 4 or 8, a build option) is the vector width of the kernels that vectorise along a
 * contiguous dimension. Reductions written as scalar loops stay scalar (IEEE rules forbid reassociating them), so
 * the hot loops carry VW-wide accumulators instead.
 */
#ifndef VW
#define VW 1
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VW == 1
#define REALV REAL
#define VLOAD(p) (*(p))
#define VSTORE(x, p) (*(p) = (x))
#define HSUM(x) (x)
#else
#define REALV CAT(REAL, VW)
#define VLOAD(p) CAT(vload, VW)(0, (p))
#define VSTORE(x, p) CAT(vstore, VW)((x), 0, (p))
#if VW == 4
#define HSUM(x) (((x).s0 + (x).s1) + ((x).s2 + (x).s3))
#else
#define HSUM(x) ((((x).s0 + (x).s1) + ((x).s2 + (x).s3)) + (((x).s4 + (x).s5) + ((x).s6 + (x).s7)))
#endif
#endif

/* a·b over n values of global memory, VW lanes wide (independent partial sums, then a horizontal sum). */
inline REAL dot_gg(__global const REAL* a, __global const REAL* b, const int n) {
    REALV acc = 0;
    int i = 0;
    for (; i + VW <= n; i += VW) {
        acc = fma(VLOAD(a + i), VLOAD(b + i), acc);
    }
    REAL s = HSUM(acc);
    for (; i < n; i++) {
        s = fma(a[i], b[i], s);
    }
    return s;
}

/*
 * φ(x) of one row into local memory, shared out over a work-group's items. Taylor is written in its structure
 * (one quadratic row i per item, no division per element); the other maps go element by element.
 */
inline void phi_row_local(const int kind, __global const REAL* x, const int d, const int e, __local REAL* out,
                          __global const REAL* w1, __global const REAL* w2, const REAL a, const REAL b,
                          const int lid, const int lsize) {
    if (kind == FM_TAYLOR) {
        if (lid == 0) {
            out[0] = RC(1.0);
        }
        for (int i = lid; i < d; i += lsize) {
            const REAL xi = x[i];
            out[1 + i] = xi * a;
            const REAL xb = xi * b;
            __local REAL* row = out + 1 + d + i * d;
            for (int j = 0; j < d; j++) {
                row[j] = xb * x[j];
            }
        }
    } else {
        for (int o = lid; o < e; o += lsize) {
            out[o] = phi_at(kind, x, d, o, 0, w1, w2, a, b);
        }
    }
}
