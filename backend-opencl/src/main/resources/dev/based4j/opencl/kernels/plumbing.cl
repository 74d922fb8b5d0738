/* Model plumbing: the operations around the mixers, so that a whole model stays on the device. */

#define TS 16

/*
 * Weight storage (a build option; none: the weights are REAL). Each element is widened to REAL where it is loaded,
 * so products and sums run in REAL as with REAL weights:
 *   WEIGHT_BF16  the 16 bits are the upper half of a binary32: shift them into place, no extension needed
 *   WEIGHT_F16   IEEE binary16 read with vload_half, which is core OpenCL C (no cl_khr_fp16 needed for loads)
 *   WEIGHT_I8    signed bytes; the scale of output channel o (scales[o]) or of its group of `group` inputs
 *                (scales[o, k / group]) multiplies them (Weight's symmetric int8). The host passes group = K for one
 *                scale per channel, so one index formula serves both.
 * The scales argument is NULL and group 0 for the float formats.
 */
#if defined(WEIGHT_BF16)
#define WEIGHT ushort
#define WLOAD(w, i) ((REAL) as_float(((uint) (w)[i]) << 16))
#elif defined(WEIGHT_F16)
#define WEIGHT half
#define WLOAD(w, i) ((REAL) vload_half((i), (w)))
#elif defined(WEIGHT_I8)
#define WEIGHT char
#define WLOAD(w, i) ((REAL) (w)[i])
#else
#define WEIGHT REAL
#define WLOAD(w, i) ((w)[i])
#endif

/* The value of weight element (o, k) of a row of K inputs: the stored element, scaled for int8. */
#ifdef WEIGHT_I8
#define WVALUE(w, scales, group, o, k, K) \
    (WLOAD(w, (size_t) (o) * (K) + (k)) * (scales)[(size_t) (o) * ((K) / (group)) + (k) / (group)])
#else
#define WVALUE(w, scales, group, o, k, K) WLOAD(w, (size_t) (o) * (K) + (k))
#endif

/*
 * out[M, N] = X[M, K] · W[N, K]ᵀ (+ bias): both operands are K-contiguous (PyTorch's (out, in) weights). Classic
 * 16×16 tiling: each work-group stages a 16×16 tile of X and of W in local memory per step along K, so every
 * element loaded from global memory is used 16 times; the +1 column avoids local-memory bank conflicts. Weights are
 * widened (and int8 scaled) as the tile is filled, so the inner loop is the same for every storage format.
 */
__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))
void linear_tiled(__global const REAL* X, __global const WEIGHT* W, __global const REAL* scales, const int group,
                  __global const REAL* bias, __global REAL* out, const int M, const int N, const int K,
                  const int has_bias) {
    __local REAL xs[TS][TS + 1];
    __local REAL ws[TS][TS + 1];
    const int col = get_global_id(0);
    const int row = get_global_id(1);
    const int lc = get_local_id(0);
    const int lr = get_local_id(1);
    const int wrow = get_group_id(0) * TS + lr;
    REAL acc = 0;
    for (int t = 0; t < K; t += TS) {
        xs[lr][lc] = (row < M && t + lc < K) ? X[(size_t) row * K + t + lc] : 0;
        ws[lr][lc] = (wrow < N && t + lc < K) ? WVALUE(W, scales, group, wrow, t + lc, K) : 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TS; kk++) {
            acc += xs[lr][kk] * ws[lc][kk];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < M && col < N) {
        out[(size_t) row * N + col] = has_bias ? acc + bias[col] : acc;
    }
}

/*
 * The same product for a few rows (decode: M = batch): one work-item per output, no tiles to fill. For int8 the
 * integer products of one scale group are summed first and scaled once per group, not once per element.
 */
__kernel void linear_rows(__global const REAL* X, __global const WEIGHT* W, __global const REAL* scales,
                          const int group, __global const REAL* bias, __global REAL* out, const int M, const int N,
                          const int K, const int has_bias) {
    const int col = get_global_id(0);
    const int row = get_global_id(1);
    if (col >= N || row >= M) {
        return;
    }
    __global const REAL* xr = X + (size_t) row * K;
    __global const WEIGHT* wr = W + (size_t) col * K;
    REAL acc = 0;
#ifdef WEIGHT_I8
    const int groups = K / group;
    __global const REAL* sr = scales + (size_t) col * groups;
    for (int g = 0; g < groups; g++) {
        REAL part = 0;
        for (int i = g * group; i < (g + 1) * group; i++) {
            part += xr[i] * WLOAD(wr, i);
        }
        acc += part * sr[g];
    }
#else
    for (int i = 0; i < K; i++) {
        acc += xr[i] * WLOAD(wr, i);
    }
#endif
    out[(size_t) row * N + col] = has_bias ? acc + bias[col] : acc;
}

/* RMSNorm over rows of d (based-math.md e): one work-group per row, a tree reduction of Σx² in local memory. */
__kernel void rms_norm(__global const REAL* x, __global const REAL* w, __global REAL* out, const int d,
                       const REAL eps, __local REAL* partial) {
    const size_t row = get_group_id(0);
    const int lid = get_local_id(0);
    const int lsize = get_local_size(0);
    __global const REAL* xr = x + row * d;
    REAL s = 0;
    for (int i = lid; i < d; i += lsize) {
        s += xr[i] * xr[i];
    }
    partial[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = lsize / 2; step > 0; step /= 2) {
        if (lid < step) {
            partial[lid] += partial[lid + step];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const REAL inv = RC(1.0) / sqrt(partial[0] / d + eps);
    __global REAL* yr = out + row * d;
    for (int i = lid; i < d; i += lsize) {
        yr[i] = xr[i] * inv * w[i];
    }
}

__kernel void silu(__global const REAL* x, __global REAL* out, const long n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        out[i] = x[i] / (RC(1.0) + exp(-x[i]));
    }
}

/* Exact GELU, x/2·(1 + erf(x/√2)). */
__kernel void gelu(__global const REAL* x, __global REAL* out, const long n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        out[i] = RC(0.5) * x[i] * (RC(1.0) + erf(x[i] / sqrt(RC(2.0))));
    }
}

__kernel void add(__global const REAL* a, __global const REAL* b, __global REAL* out, const long n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        out[i] = a[i] + b[i];
    }
}

__kernel void mul(__global const REAL* a, __global const REAL* b, __global REAL* out, const long n) {
    const size_t i = get_global_id(0);
    if (i < n) {
        out[i] = a[i] * b[i];
    }
}

/* out[i, c] = table[ids[i], c], widened (and int8 scaled per row or per group of columns) to REAL. */
__kernel void embedding(__global const WEIGHT* table, __global const REAL* scales, const int group,
                        __global const int* ids, __global REAL* out, const int count, const int d) {
    const size_t gid = get_global_id(0);
    if (gid >= (size_t) count * d) {
        return;
    }
    const int i = (int) (gid / d);
    const int c = (int) (gid - (size_t) i * d);
    out[gid] = WVALUE(table, scales, group, ids[i], c, d);
}

/*
 * Rotary embedding, GPT-NeoX "rotate halves" (based-math.md c): x [rows, seq, d]; cs/sn [seq, halfDim] are cos and
 * sin of (start + t)·base^(-2i/rotary_dim), computed by the host in double; dimensions from rotary_dim on pass
 * through.
 */
__kernel void rotary(__global const REAL* x, __global const REAL* cs, __global const REAL* sn, __global REAL* out,
                     const long n, const int seq, const int d, const int halfDim) {
    const size_t gid = get_global_id(0);
    if (gid >= (size_t) n) {
        return;
    }
    const int i = (int) (gid % d);
    const size_t base = gid - i;
    const int t = (int) ((gid / d) % seq);
    if (i < halfDim) {
        const REAL a = x[base + i];
        const REAL b = x[base + i + halfDim];
        out[gid] = a * cs[(size_t) t * halfDim + i] - b * sn[(size_t) t * halfDim + i];
    } else if (i < 2 * halfDim) {
        const int j = i - halfDim;
        const REAL a = x[base + j];
        const REAL b = x[base + i];
        out[gid] = a * sn[(size_t) t * halfDim + j] + b * cs[(size_t) t * halfDim + j];
    } else {
        out[gid] = x[gid];
    }
}

/* x [batch, seq, heads·d] → out [batch, heads, seq, d]; one work-item per output element. */
__kernel void split_heads(__global const REAL* x, __global REAL* out, const long n, const int seq, const int heads,
                          const int d) {
    const size_t gid = get_global_id(0);
    if (gid >= (size_t) n) {
        return;
    }
    const int c = (int) (gid % d);
    const int t = (int) ((gid / d) % seq);
    const int h = (int) ((gid / ((size_t) d * seq)) % heads);
    const size_t b = gid / ((size_t) d * seq * heads);
    out[gid] = x[((b * seq + t) * heads + h) * d + c];
}

/* x [batch, heads, seq, d] → out [batch, seq, heads·d]; one work-item per output element. */
__kernel void merge_heads(__global const REAL* x, __global REAL* out, const long n, const int seq, const int heads,
                          const int d) {
    const size_t gid = get_global_id(0);
    if (gid >= (size_t) n) {
        return;
    }
    const int c = (int) (gid % d);
    const int h = (int) ((gid / d) % heads);
    const int t = (int) ((gid / ((size_t) d * heads)) % seq);
    const size_t b = gid / ((size_t) d * heads * seq);
    out[gid] = x[((b * heads + h) * seq + t) * d + c];
}

/* Columns [from, from + width) of x [rows, cols]. */
__kernel void slice(__global const REAL* x, __global REAL* out, const long n, const int cols, const int from,
                    const int width) {
    const size_t gid = get_global_id(0);
    if (gid >= (size_t) n) {
        return;
    }
    const size_t r = gid / width;
    const int j = (int) (gid - r * width);
    out[gid] = x[r * cols + from + j];
}
