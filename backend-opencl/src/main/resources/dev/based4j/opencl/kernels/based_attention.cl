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

/*
 * One decode step of the fused layer in one launch, in the reference's order (sdk-conventions.md): when the ring
 * is full (pos ≥ cap) the token in slot pos % cap leaves it and enters the far state (S[e][:] += v·φ(k),
 * z += φ(k)); the new token takes its slot; then
 *   y = (Σ_near e^{s-c} v + e^{-c} φ(q)·S) / (Σ_near e^{s-c} + e^{-c} (φ(q)·z + eps))
 * with c = max(max_near s, log(φ(q)·z + eps)) as in sw_attend. The far update and φ(q)·S run in one pass over the
 * state (VW lanes along d). The window's scores and softmax weights are computed once into local memory
 * (shared_scores = 1, when the host found room for lookback + 1 of them), then each work-item sums one value
 * dimension e; for windows too long for local memory every work-item recomputes the scores with an online
 * softmax instead. One work-group per (batch, head).
 */
__kernel void ba_decode(__global const REAL* q, __global const REAL* k, __global const REAL* v, __global REAL* kv,
                        __global REAL* z, __global REAL* ring_k, __global REAL* ring_v, __global REAL* out,
                        const long pos, const int f, const int D, const int dv, const int cap, const REAL scale,
                        const REAL eps, const int kind, __global const REAL* w1, __global const REAL* w2,
                        const REAL fa, const REAL fb, __local REAL* phi, __local REAL* partial,
                        __local REAL* far_num, const int shared_scores, __local REAL* scores) {
    const int bh = get_group_id(0);
    const int lid = get_local_id(0);
    const int lsize = get_local_size(0);
    const int slot = (int) (pos % cap);
    const int leaving = pos >= cap;
    __global const REAL* Q = q + (size_t) bh * f;
    __global REAL* rk = ring_k + ((size_t) bh * cap + slot) * f;
    __global REAL* rv = ring_v + ((size_t) bh * cap + slot) * dv;
    __local REAL* pq = phi;
    __local REAL* pk = phi + D;
    phi_row_local(kind, Q, f, D, pq, w1, w2, fa, fb, lid, lsize);
    if (leaving) {
        phi_row_local(kind, rk, f, D, pk, w1, w2, fa, fb, lid, lsize);
    } else {
        for (int d = lid; d < D; d += lsize) {
            pk[d] = 0;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    // far part: the leaving token enters the state, then φ(q)·z and φ(q)·S
    __global REAL* Z = z + (size_t) bh * D;
    REAL s = 0;
    for (int d = lid; d < D; d += lsize) {
        const REAL zn = Z[d] + pk[d];
        Z[d] = zn;
        s += pq[d] * zn;
    }
    partial[lid] = s;
    for (int e = lid; e < dv; e += lsize) {
        __global REAL* se = kv + ((size_t) bh * dv + e) * D;
        const REAL ve = leaving ? rv[e] : 0;
        REALV acc = 0;
        int d = 0;
        for (; d + VW <= D; d += VW) {
            const REALV sn = fma((REALV) (ve), VLOAD(pk + d), VLOAD(se + d));
            VSTORE(sn, se + d);
            acc = fma(VLOAD(pq + d), sn, acc);
        }
        REAL num = HSUM(acc);
        for (; d < D; d++) {
            const REAL sn = fma(ve, pk[d], se[d]);
            se[d] = sn;
            num = fma(pq[d], sn, num);
        }
        far_num[e] = num;
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    for (int step = lsize / 2; step > 0; step /= 2) {
        if (lid < step) {
            partial[lid] += partial[lid + step];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const REAL fd = partial[0] + eps;

    // the new token takes the slot (every read of the leaving token is behind the barrier above)
    for (int i = lid; i < f; i += lsize) {
        rk[i] = k[(size_t) bh * f + i];
    }
    for (int i = lid; i < dv; i += lsize) {
        rv[i] = v[(size_t) bh * dv + i];
    }
    barrier(CLK_GLOBAL_MEM_FENCE);

    // near part and the shared normaliser
    const long first = pos - (cap - 1) > 0 ? pos - (cap - 1) : 0;
    const int count = (int) (pos - first + 1);
    REAL mx_shared = -INFINITY;
    REAL l_shared = 0;
    if (shared_scores) {
        for (int j = lid; j < count; j += lsize) {
            const size_t r = (size_t) bh * cap + (size_t) ((first + j) % cap);
            scores[j] = dot_gg(Q, ring_k + r * f, f) * scale;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = 0; j < count; j++) {
            mx_shared = fmax(mx_shared, scores[j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = lid; j < count; j += lsize) {
            scores[j] = exp(scores[j] - mx_shared);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = 0; j < count; j++) {
            l_shared += scores[j];
        }
    }
    for (int e = lid; e < dv; e += lsize) {
        REAL mx = mx_shared;
        REAL l = l_shared;
        REAL acc = 0;
        if (shared_scores) {
            for (int j = 0; j < count; j++) {
                const size_t r = (size_t) bh * cap + (size_t) ((first + j) % cap);
                acc = fma(scores[j], ring_v[r * dv + e], acc);
            }
        } else {
            for (long m = first; m <= pos; m++) {
                const size_t r = (size_t) bh * cap + (size_t) (m % cap);
                const REAL sc = dot_gg(Q, ring_k + r * f, f) * scale;
                if (sc > mx) {
                    const REAL c = exp(mx - sc);
                    l *= c;
                    acc *= c;
                    mx = sc;
                }
                const REAL w = exp(sc - mx);
                l += w;
                acc = fma(w, ring_v[r * dv + e], acc);
            }
        }
        REAL y = acc / l;
        if (fd > 0) {
            const REAL lf = log(fd);
            const REAL c = fmax(mx, lf);
            const REAL wn = exp(mx - c);
            const REAL wf = exp(lf - c);
            y = (acc * wn + far_num[e] / fd * wf) / (l * wn + wf);
        }
        out[(size_t) bh * dv + e] = y;
    }
}
