/*
 * The far stream of the fused layer (sdk-conventions.md "The fused linear-plus-window attention"): when the query
 * at absolute position p = pos + n arrives, the token at p - cap leaves the window (cap = lookback + 1) and enters
 * the linear state. Row n of out_k/out_v is that token, taken from the ring when it came before this call and from
 * this call's k/v otherwise; r_count = min(pos, cap) tokens are in the ring. Rows whose token would be before
 * position 0 are zero, and la_chunked skips them (first_key = max(0, cap - r_count)).
 */
__kernel void ba_far_stream(__global const REAL* k, __global const REAL* v, __global const REAL* ring_k,
                            __global const REAL* ring_v, __global REAL* out_k, __global REAL* out_v, const long pos,
                            const int seq, const int f, const int dv, const int cap, const int r_count) {
    const int n = get_global_id(0);
    const int bh = get_global_id(1);
    if (n >= seq) {
        return;
    }
    const long j = (long) n - cap + r_count;
    const size_t dst = (size_t) bh * seq + n;
    if (j < 0) {
        for (int i = 0; i < f; i++) {
            out_k[dst * f + i] = 0;
        }
        for (int i = 0; i < dv; i++) {
            out_v[dst * dv + i] = 0;
        }
        return;
    }
    __global const REAL* kr;
    __global const REAL* vr;
    if (j < r_count) {
        const size_t r = (size_t) bh * cap + (size_t) ((pos - r_count + j) % cap);
        kr = ring_k + r * f;
        vr = ring_v + r * dv;
    } else {
        const size_t r = (size_t) bh * seq + (size_t) (j - r_count);
        kr = k + r * f;
        vr = v + r * dv;
    }
    for (int i = 0; i < f; i++) {
        out_k[dst * f + i] = kr[i];
    }
    for (int i = 0; i < dv; i++) {
        out_v[dst * dv + i] = vr[i];
    }
}
