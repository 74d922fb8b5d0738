/*
 * Sliding-window softmax attention continuing from a ring buffer (sdk-conventions.md "Window size"): the query at
 * absolute position p sees the keys at positions max(0, p - lookback) .. p. Keys before this call's first token
 * (position pos) come from the ring, where position m sits in slot m % cap; the others from this call's k and v.
 * The ring is only read here; sw_ring_write stores the new tokens afterwards, so a call longer than the ring
 * still sees every key it needs.
 *
 * One work-item per query, with an online softmax (running maximum, sums rescaled when it grows), so any window,
 * unbounded included, needs only dv accumulators; they live in local memory (the host sizes the work-group to
 * fit). Work-items share nothing, hence no barriers. All work-items of a group read the same key rows, which the
 * caches serve once. Dot products and accumulator updates run VW lanes wide along the head dimension.
 *
 * combine = 1 is the fused layer's near part (sdk-conventions.md "The fused linear-plus-window attention"):
 * far_num/far_den are Σ_far (φ(q)·φ(k)) v and Σ_far φ(q)·φ(k) from la_chunked, and
 *   y = (Σ_near e^{s-c} v + e^{-c} far_num) / (Σ_near e^{s-c} + e^{-c} (far_den + eps))
 * with the per-query constant c = max(max_near s, log(far_den + eps)): the maximum subtraction of the reference,
 * extended to the far term so that e^{-c}·far never overflows either, whatever the sign of the scores.
 */
/* a[i] *= c over n values of local memory. */
inline void scale_local(__local REAL* a, const int n, const REAL c) {
    int i = 0;
    for (; i + VW <= n; i += VW) {
        VSTORE(VLOAD(a + i) * c, a + i);
    }
    for (; i < n; i++) {
        a[i] *= c;
    }
}

/* a[i] += w·x[i] over n values. */
inline void axpy_local(__local REAL* a, const REAL w, __global const REAL* x, const int n) {
    int i = 0;
    for (; i + VW <= n; i += VW) {
        VSTORE(fma((REALV) (w), VLOAD(x + i), VLOAD(a + i)), a + i);
    }
    for (; i < n; i++) {
        a[i] = fma(w, x[i], a[i]);
    }
}

__kernel void sw_attend(__global const REAL* q, __global const REAL* k, __global const REAL* v,
                        __global const REAL* ring_k, __global const REAL* ring_v, __global REAL* out,
                        __global const REAL* far_num, __global const REAL* far_den, const long pos, const int seq,
                        const int dk, const int dv, const int cap, const long lookback, const REAL scale,
                        const int combine, const REAL eps, __local REAL* acc_all) {
    const int n = get_global_id(0);
    const int bh = get_global_id(1);
    if (n >= seq) {
        return;
    }
    __local REAL* acc = acc_all + (size_t) get_local_id(0) * dv;
    const size_t row = (size_t) bh * seq + n;
    __global const REAL* qr = q + row * dk;
    const long p = pos + n;
    const long first = p - lookback > 0 ? p - lookback : 0;
    for (int e = 0; e < dv; e++) {
        acc[e] = 0;
    }
    REAL mx = -INFINITY;
    REAL l = 0;
    for (long m = first; m <= p; m++) {
        __global const REAL* kr;
        __global const REAL* vr;
        if (m >= pos) {
            const size_t r = (size_t) bh * seq + (size_t) (m - pos);
            kr = k + r * dk;
            vr = v + r * dv;
        } else {
            const size_t r = (size_t) bh * cap + (size_t) (m % cap);
            kr = ring_k + r * dk;
            vr = ring_v + r * dv;
        }
        const REAL s = dot_gg(qr, kr, dk) * scale;
        if (s > mx) {
            const REAL c = exp(mx - s);
            l *= c;
            scale_local(acc, dv, c);
            mx = s;
        }
        const REAL w = exp(s - mx);
        l += w;
        axpy_local(acc, w, vr, dv);
    }
    __global REAL* y = out + row * dv;
    if (combine) {
        const REAL fd = far_den[row] + eps;
        if (fd > 0) {
            const REAL lf = log(fd);
            const REAL c = fmax(mx, lf);
            const REAL wn = exp(mx - c);
            const REAL wf = exp(lf - c);
            const REAL den = l * wn + wf;
            __global const REAL* fn = far_num + row * dv;
            for (int e = 0; e < dv; e++) {
                y[e] = (acc[e] * wn + fn[e] / fd * wf) / den;
            }
            return;
        }
    }
    for (int e = 0; e < dv; e++) {
        y[e] = acc[e] / l;
    }
}

/* Stores this call's tokens start .. seq-1 (the last cap of them) in their ring slots (pos + n) % cap. */
__kernel void sw_ring_write(__global const REAL* k, __global const REAL* v, __global REAL* ring_k,
                            __global REAL* ring_v, const long pos, const int seq, const int dk, const int dv,
                            const int cap, const int start) {
    const int n = start + get_global_id(0);
    const int bh = get_global_id(1);
    if (n >= seq) {
        return;
    }
    const size_t src = (size_t) bh * seq + n;
    const size_t dst = (size_t) bh * cap + (size_t) ((pos + n) % cap);
    for (int i = 0; i < dk; i++) {
        ring_k[dst * dk + i] = k[src * dk + i];
    }
    for (int i = 0; i < dv; i++) {
        ring_v[dst * dv + i] = v[src * dv + i];
    }
}
