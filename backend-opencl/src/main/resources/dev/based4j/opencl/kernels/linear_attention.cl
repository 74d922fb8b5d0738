/*
 * Causal linear attention continuing from a state (based-math.md b), in the chunked form of the same section:
 * one work-group per (batch, head) walks its sequence chunk by chunk and carries the state S = Σ v ⊗ φ(k)
 * (stored [dv, D], value dimension first) and z = Σ φ(k) ([D]).
 *
 * While it works, the group keeps S transposed, T[d][e] = S[e][d], in a scratch buffer: then both products
 * below run along the contiguous value dimension e as VW-wide vector FMAs with a broadcast scalar, no horizontal
 * reductions. Per chunk of cn tokens, three phases separated by barriers (three barriers per chunk, none per
 * token):
 *
 *   1. A[n][m] = φ(q_n)·φ(k_m) for m ≤ n into local memory, and qz[n] = φ(q_n)·z;
 *   2. y_n = (φ(q_n)·S + Σ_{m≤n} A[n][m] v_m) / (qz[n] + Σ_{m≤n} A[n][m] + eps) with S and z holding only the
 *      tokens before the chunk; a work-item computes RN rows × one VW-vector of e (register tile);
 *   3. T[d][:] += Σ_m φ(k_m)[d] v_m and z += Σ_m φ(k_m); a work-item owns RD rows d × one vector of e, so the
 *      update needs no atomics.
 *
 * chunk = 1 is exactly decode's update-then-read (the current token attends to itself); chunk = seq is the
 * quadratic form. For Taylor (taylor_scale = 1/√f > 0) A uses φ(q)·φ(k) = 1 + s + s²/2, s = q·k/√f
 * (based-math.md a): f multiply-adds instead of 1+f+f².
 *
 * The fused layer uses the same kernel for its far part: keys are then the "far stream" (key m is the token that
 * leaves the window when query m arrives), keys before first_key do not exist, and with normalise = 0 the kernel
 * writes the numerator to out and the denominator (without eps) to den_out for the window kernel to combine.
 * Requires dv % VW == 0 (the host builds VW accordingly).
 */
#define RN 8
#define RD 8

__kernel void la_chunked(__global const REAL* q, __global const REAL* k, __global const REAL* phiq,
                         __global const REAL* phik, __global const REAL* v, __global REAL* kv, __global REAL* z,
                         __global REAL* out, __global REAL* den_out, __global REAL* scratch, const int seq,
                         const int f, const int D, const int dv, const int chunk, const REAL eps,
                         const REAL taylor_scale, const int first_key, const int normalise, __local REAL* A,
                         __local REAL* qz) {
    const int bh = get_group_id(0);
    const int lid = get_local_id(0);
    const int lsize = get_local_size(0);
    const size_t row0 = (size_t) bh * seq;
    __global const REAL* Q = q + row0 * f;
    __global const REAL* K = k + row0 * f;
    __global const REAL* PQ = phiq + row0 * D;
    __global const REAL* PK = phik + row0 * D;
    __global const REAL* V = v + row0 * dv;
    __global REAL* Y = out + row0 * dv;
    __global REAL* S = kv + (size_t) bh * dv * D;
    __global REAL* T = scratch + (size_t) bh * D * dv;
    __global REAL* Z = z + (size_t) bh * D;
    const int nv = dv / VW;

    for (int p = lid; p < D * dv; p += lsize) {
        const int d = p / dv;
        const int e = p - d * dv;
        T[p] = S[(size_t) e * D + d];
    }
    barrier(CLK_GLOBAL_MEM_FENCE);

    for (int t0 = 0; t0 < seq; t0 += chunk) {
        const int cn = min(chunk, seq - t0);
        const int m0 = max(0, first_key - t0);

        // phase 1: intra-chunk scores and the carried normaliser
        for (int p = lid; p < cn * cn; p += lsize) {
            const int n = p / cn;
            const int m = p - n * cn;
            REAL a = 0;
            if (m <= n && m >= m0) {
                if (taylor_scale > 0) {
                    const REAL s = dot_gg(Q + (size_t) (t0 + n) * f, K + (size_t) (t0 + m) * f, f) * taylor_scale;
                    a = RC(1.0) + s + RC(0.5) * s * s;
                } else {
                    a = dot_gg(PQ + (size_t) (t0 + n) * D, PK + (size_t) (t0 + m) * D, D);
                }
            }
            A[n * chunk + m] = a;
        }
        for (int n = lid; n < cn; n += lsize) {
            qz[n] = dot_gg(PQ + (size_t) (t0 + n) * D, Z, D);
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);

        // phase 2: RN query rows × one vector of e per work-item
        const int groups = (cn + RN - 1) / RN;
        for (int p = lid; p < groups * nv; p += lsize) {
            const int g = p / nv;
            const int e0 = (p - g * nv) * VW;
            const int n0 = g * RN;
            __global const REAL* qrow[RN];
            REALV acc[RN];
#pragma unroll
            for (int i = 0; i < RN; i++) {
                qrow[i] = PQ + (size_t) (t0 + min(n0 + i, cn - 1)) * D;
                acc[i] = 0;
            }
            for (int d = 0; d < D; d++) {
                const REALV t = VLOAD(T + (size_t) d * dv + e0);
#pragma unroll
                for (int i = 0; i < RN; i++) {
                    acc[i] = fma((REALV) (qrow[i][d]), t, acc[i]);
                }
            }
#pragma unroll
            for (int i = 0; i < RN; i++) {
                const int n = n0 + i;
                if (n < cn) {
                    REALV num = acc[i];
                    REAL den = qz[n];
                    for (int m = m0; m <= n; m++) {
                        const REAL a = A[n * chunk + m];
                        num = fma((REALV) (a), VLOAD(V + (size_t) (t0 + m) * dv + e0), num);
                        den += a;
                    }
                    __global REAL* y = Y + (size_t) (t0 + n) * dv + e0;
                    if (normalise) {
                        VSTORE(num / (den + eps), y);
                    } else {
                        VSTORE(num, y);
                        if (e0 == 0) {
                            den_out[row0 + t0 + n] = den;
                        }
                    }
                }
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE);

        // phase 3: fold the chunk into the state, RD rows d × one vector of e per work-item
        const int dgroups = (D + RD - 1) / RD;
        for (int p = lid; p < dgroups * nv; p += lsize) {
            const int g = p / nv;
            const int e0 = (p - g * nv) * VW;
            const int d0 = g * RD;
            REALV acc[RD];
#pragma unroll
            for (int i = 0; i < RD; i++) {
                acc[i] = 0;
            }
            for (int m = m0; m < cn; m++) {
                const REALV vm = VLOAD(V + (size_t) (t0 + m) * dv + e0);
                __global const REAL* pk = PK + (size_t) (t0 + m) * D;
#pragma unroll
                for (int i = 0; i < RD; i++) {
                    acc[i] = fma((REALV) (pk[min(d0 + i, D - 1)]), vm, acc[i]);
                }
            }
#pragma unroll
            for (int i = 0; i < RD; i++) {
                if (d0 + i < D) {
                    __global REAL* t = T + (size_t) (d0 + i) * dv + e0;
                    VSTORE(VLOAD(t) + acc[i], t);
                }
            }
        }
        for (int d = lid; d < D; d += lsize) {
            REAL s = 0;
            for (int m = m0; m < cn; m++) {
                s += PK[(size_t) (t0 + m) * D + d];
            }
            Z[d] += s;
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }

    for (int p = lid; p < dv * D; p += lsize) {
        const int e = p / D;
        const int d = p - e * D;
        S[p] = T[(size_t) d * dv + e];
    }
}

/*
 * One decode step (based-math.md b, "Recurrent state and generation") in one pass over the state: φ(q) and φ(k)
 * into local memory, z += φ(k), then per value row e, S[e][:] += v[e] φ(k) and y[e] = φ(q)·S[e][:] together, so
 * the state is read and written once. VW-wide along d. One work-group per (batch, head).
 */
__kernel void la_decode(__global const REAL* q, __global const REAL* k, __global const REAL* v, __global REAL* kv,
                        __global REAL* z, __global REAL* out, const int kind, const int f, const int D,
                        const int dv, const REAL eps, __global const REAL* w1, __global const REAL* w2,
                        const REAL fa, const REAL fb, __local REAL* phi, __local REAL* partial) {
    const int bh = get_group_id(0);
    const int lid = get_local_id(0);
    const int lsize = get_local_size(0);
    __local REAL* pq = phi;
    __local REAL* pk = phi + D;
    phi_row_local(kind, q + (size_t) bh * f, f, D, pq, w1, w2, fa, fb, lid, lsize);
    phi_row_local(kind, k + (size_t) bh * f, f, D, pk, w1, w2, fa, fb, lid, lsize);
    barrier(CLK_LOCAL_MEM_FENCE);
    __global REAL* Z = z + (size_t) bh * D;
    REAL s = 0;
    for (int d = lid; d < D; d += lsize) {
        const REAL zn = Z[d] + pk[d];
        Z[d] = zn;
        s += pq[d] * zn;
    }
    partial[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = lsize / 2; step > 0; step /= 2) {
        if (lid < step) {
            partial[lid] += partial[lid + step];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const REAL den = partial[0] + eps;
    __global const REAL* vr = v + (size_t) bh * dv;
    __global REAL* y = out + (size_t) bh * dv;
    for (int e = lid; e < dv; e += lsize) {
        __global REAL* se = kv + ((size_t) bh * dv + e) * D;
        const REAL ve = vr[e];
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
        y[e] = num / den;
    }
}
