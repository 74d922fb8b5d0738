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
