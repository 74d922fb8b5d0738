/*
 * φ over the last dimension: x [rows, d] → out [rows, e], where rows = batch·heads·seq and a row's position in
 * its call is row % seq (CosFormer needs it). One work-item per output element.
 */
__kernel void feature_map(const int kind, __global const REAL* x, __global REAL* out, const int rows,
                          const int seq, const int d, const int e, __global const REAL* w1,
                          __global const REAL* w2, const REAL a, const REAL b) {
    const size_t gid = get_global_id(0);
    if (gid >= (size_t) rows * e) {
        return;
    }
    const int row = (int) (gid / e);
    const int o = (int) (gid - (size_t) row * e);
    out[gid] = phi_at(kind, x + (size_t) row * d, d, o, row % seq, w1, w2, a, b);
}

/*
 * The Taylor map row by row (based-math.md a): one work-item writes the 1+f+f² features of one row, the
 * quadratic block as f contiguous runs of f, so no index arithmetic per element and the stores stream.
 */
__kernel void feature_map_taylor(__global const REAL* x, __global REAL* out, const int rows, const int f,
                                 const REAL a, const REAL b) {
    const size_t row = get_global_id(0);
    if (row >= (size_t) rows) {
        return;
    }
    const int e = 1 + f + f * f;
    __global const REAL* xr = x + row * f;
    __global REAL* o = out + row * e;
    o[0] = RC(1.0);
    for (int i = 0; i < f; i++) {
        o[1 + i] = xr[i] * a;
    }
    __global REAL* quad = o + 1 + f;
    for (int i = 0; i < f; i++) {
        const REAL xi = xr[i] * b;
        for (int j = 0; j < f; j++) {
            quad[i * f + j] = xi * xr[j];
        }
    }
}
