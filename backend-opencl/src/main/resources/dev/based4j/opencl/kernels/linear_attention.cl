/*
 * Causal linear attention continuing from a state (based-math.md b), in the chunked form of the same section:
 * one work-group per (batch, head) walks its sequence chunk by chunk and carries the state S = Σ v ⊗ φ(k)
 * ([dv, D], value dimension first) and z = Σ φ(k) ([D]) in the state buffers themselves. Per chunk of cn tokens
 * there are three phases separated by barriers (three barriers per chunk, none per token):
 *
 *   1. A[n][m] = φ(q_n)·φ(k_m) for m ≤ n into local memory, and qz[n] = φ(q_n)·z;
 *   2. y_n = (φ(q_n)·S + Σ_{m≤n} A[n][m] v_m) / (qz[n] + Σ_{m≤n} A[n][m] + eps), with S and z still holding only
 *      the tokens before the chunk; work-items own (n, e) output pairs;
 *   3. S += Σ_m v_m ⊗ φ(k_m) and z += Σ_m φ(k_m) over the chunk; work-items own fixed (e, d) entries, so the
 *      update needs no atomics, and consecutive work-items touch consecutive d (contiguous φ(k) rows).
 *
 * chunk = 1 is exactly decode's update-then-read (the current token attends to itself); chunk = seq is the
 * quadratic form. For Taylor (taylor_scale = 1/√f > 0) A uses φ(q)·φ(k) = 1 + s + s²/2, s = q·k/√f
 * (based-math.md a): f multiply-adds instead of 1+f+f².
 *
 * The fused layer uses the same kernel for its far part: keys are then the "far stream" (key m is the token that
 * leaves the window when query m arrives), keys before first_key do not exist, and with normalise = 0 the kernel
 * writes the numerator to out and the denominator (without eps) to den_out for the window kernel to combine.
 */
__kernel void la_chunked(__global const REAL* q, __global const REAL* k, __global const REAL* phiq,
                         __global const REAL* phik, __global const REAL* v, __global REAL* kv, __global REAL* z,
                         __global REAL* out, __global REAL* den_out, const int seq, const int f, const int D,
                         const int dv, const int chunk, const REAL eps, const REAL taylor_scale,
                         const int first_key, const int normalise, __local REAL* A, __local REAL* qz) {
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
    __global REAL* Z = z + (size_t) bh * D;

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
                    __global const REAL* qr = Q + (size_t) (t0 + n) * f;
                    __global const REAL* kr = K + (size_t) (t0 + m) * f;
                    REAL s = 0;
                    for (int i = 0; i < f; i++) {
                        s += qr[i] * kr[i];
                    }
                    s *= taylor_scale;
                    a = RC(1.0) + s + RC(0.5) * s * s;
                } else {
                    __global const REAL* qr = PQ + (size_t) (t0 + n) * D;
                    __global const REAL* kr = PK + (size_t) (t0 + m) * D;
                    for (int d = 0; d < D; d++) {
                        a += qr[d] * kr[d];
                    }
                }
            }
            A[n * chunk + m] = a;
        }
        for (int n = lid; n < cn; n += lsize) {
            __global const REAL* qr = PQ + (size_t) (t0 + n) * D;
            REAL s = 0;
            for (int d = 0; d < D; d++) {
                s += qr[d] * Z[d];
            }
            qz[n] = s;
        }
        barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);

        // phase 2: outputs from the carried state plus the masked intra-chunk sum
        for (int p = lid; p < cn * dv; p += lsize) {
            const int n = p / dv;
            const int e = p - n * dv;
            __global const REAL* qr = PQ + (size_t) (t0 + n) * D;
            __global const REAL* se = S + (size_t) e * D;
            REAL num = 0;
            for (int d = 0; d < D; d++) {
                num += qr[d] * se[d];
            }
            REAL den = qz[n];
            for (int m = m0; m <= n; m++) {
                const REAL a = A[n * chunk + m];
                num += a * V[(size_t) (t0 + m) * dv + e];
                den += a;
            }
            const size_t o = (size_t) (t0 + n) * dv + e;
            if (normalise) {
                Y[o] = num / (den + eps);
            } else {
                Y[o] = num;
                if (e == 0) {
                    den_out[row0 + t0 + n] = den;
                }
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE);

        // phase 3: fold the chunk into the state
        for (int p = lid; p < dv * D; p += lsize) {
            const int e = p / D;
            const int d = p - e * D;
            REAL s = 0;
            for (int m = m0; m < cn; m++) {
                s += V[(size_t) (t0 + m) * dv + e] * PK[(size_t) (t0 + m) * D + d];
            }
            S[p] += s;
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
}
