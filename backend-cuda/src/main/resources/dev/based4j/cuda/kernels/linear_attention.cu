// Causal linear attention continuing from a state (based-math.md b; Reference.linearAttention):
//   y_t = (φ(q_t)·S0 + Σ_{s≤t} (φ(q_t)·φ(k_s)) v_s) / (φ(q_t)·z0 + Σ_{s≤t} φ(q_t)·φ(k_s) + eps)
// with the state S [dv][D] (value dimension first) and z [D] updated to include the new tokens.
//
// Every prefill kernel also serves the far part of the fused layer (based_attention.cu): there the keys are
// a shifted stream whose first kStart entries do not exist (they contribute nothing to outputs or state),
// and the kernel writes the raw numerator to out and the denominator (without eps) to denOut instead of the
// quotient. denOut == nullptr selects the plain quotient.
//
// Kernels:
//   la_taylor_chunked_*   Taylor φ, f ≤ 16: one block per (batch·head, 64 value columns); the sequence in
//                         chunks, the state in registers between chunks (the 2nd-order part split across all
//                         8 warps), staged to shared memory once per chunk for the read-out.
//   la_taylor_quadratic_* Taylor φ, f ≤ 16: the masked L×L form, one block per query chunk, for short
//                         sequences; la_taylor_state_update_* then adds the call's keys to the state.
//   la_generic_*          any φ on features computed ahead (feature_map.cu): one block per (batch·head).
//   la_decode_*           one token, every head of every sequence in one launch, φ computed in place.
#include "b4j_feature_map.cuh"

namespace {

constexpr int TF = 16;   // largest Taylor input dimension f of the register-blocked kernels
constexpr int EV = 64;   // value columns per block of the Taylor kernels

// Shared-memory layout of the Taylor kernels, in elements of T. Row strides of TF + 1 keep the per-token
// rows of q and k conflict-free when lanes walk tokens.
template <typename T, int C> struct TaylorSmem {
    T* S;      // [D][EV] state slice, row-major over features d
    T* z;      // [D]
    T* qT;     // [TF][C] q transposed (feature-major), zero beyond f and beyond the chunk
    T* qR;     // [C][TF+1]
    T* kR;     // [C][TF+1]
    T* v;      // [C][EV] values of the block's columns, zero for keys that do not exist
    T* A;      // [C][C+1] masked φ(q)·φ(k) of the chunk pair
    T* den;    // [C]
    T* valid;  // [C] 1 for keys that exist, 0 otherwise

    __device__ TaylorSmem(unsigned char* base, int D) {
        T* p = (T*)base;
        S = p;
        p += (i64)D * EV;
        z = p;
        p += (D + 3) & ~3;
        qT = p;
        p += TF * C;
        qR = p;
        p += C * (TF + 1);
        kR = p;
        p += C * (TF + 1);
        v = p;
        p += C * EV;
        A = p;
        p += C * (C + 1);
        den = p;
        p += C;
        valid = p;
    }
};

// Bytes of TaylorSmem, mirrored by LinearAttentionKernels.taylorSharedBytes on the host.
//   (D·EV + pad4(D) + TF·C + 2·C·(TF+1) + C·EV + C·(C+1) + 2·C) · sizeof(T)

struct TaylorConsts {
    int f, D;
    double c1, c2, invSqrtF;
    __device__ TaylorConsts(int f_) : f(f_), D(1 + f_ + f_ * f_) {
        c1 = 1.0 / sqrt(sqrt((double)f_));
        c2 = 1.0 / (sqrt(2.0) * sqrt((double)f_));
        invSqrtF = 1.0 / sqrt((double)f_);
    }
};

// Stages the queries of tokens [c0, c0 + C) of one head (zero beyond L and beyond f).
template <typename T, int C>
__device__ __forceinline__ void load_q(const TaylorSmem<T, C>& sm, const T* q, int L, int f, int c0) {
    for (int idx = threadIdx.x; idx < C * TF; idx += blockDim.x) {
        const int t = idx / TF;
        const int j = idx - t * TF;
        const T val = (c0 + t < L && j < f) ? q[(i64)(c0 + t) * f + j] : (T)0;
        sm.qT[j * C + t] = val;
        sm.qR[t * (TF + 1) + j] = val;
    }
}

// Stages keys and the block's value columns of tokens [c0, c0 + C); keys before kStart or beyond L do not
// exist: their values are zeroed and valid is 0.
template <typename T, int C>
__device__ __forceinline__ void load_kv(const TaylorSmem<T, C>& sm, const T* k, const T* v, int L, int f, int dv,
                                        int e0, int c0, int kStart) {
    for (int idx = threadIdx.x; idx < C * TF; idx += blockDim.x) {
        const int t = idx / TF;
        const int j = idx - t * TF;
        sm.kR[t * (TF + 1) + j] = (c0 + t < L && j < f) ? k[(i64)(c0 + t) * f + j] : (T)0;
    }
    for (int idx = threadIdx.x; idx < C * EV; idx += blockDim.x) {
        const int t = idx / EV;
        const int e = idx - t * EV;
        const int g = c0 + t;
        sm.v[idx] = (g < L && g >= kStart && e0 + e < dv) ? v[(i64)g * dv + e0 + e] : (T)0;
    }
    for (int t = threadIdx.x; t < C; t += blockDim.x) {
        const int g = c0 + t;
        sm.valid[t] = (g < L && g >= kStart) ? (T)1 : (T)0;
    }
}

// A[t][s] = φ(q_t)·φ(k_s) = 1 + x + x²/2 with x = q·k/√f (the identity of based-math.md a), masked to
// existing keys and, when diagonal, to s ≤ t (chunk-local indices; both chunks start at the same token).
template <typename T, int C>
__device__ __forceinline__ void compute_A(const TaylorSmem<T, C>& sm, const TaylorConsts& tc, bool diagonal) {
    const T invSqrtF = (T)tc.invSqrtF;
    for (int idx = threadIdx.x; idx < C * C; idx += blockDim.x) {
        const int t = idx / C;
        const int s = idx - t * C;
        T a = 0;
        if (!diagonal || s <= t) {
            T dot = 0;
#pragma unroll
            for (int j = 0; j < TF; ++j) dot += sm.qR[t * (TF + 1) + j] * sm.kR[s * (TF + 1) + j];
            const T x = dot * invSqrtF;
            a = ((T)1 + x + x * x * (T)0.5) * sm.valid[s];
        }
        sm.A[t * (C + 1) + s] = a;
    }
}

// den[t] = φ(q_t)·z (+ rowsum A when withA): 4 threads per token, each a quarter of the quadratic rows,
// combined with two butterfly steps. blockDim.x ≥ 4·C; the guard is warp-uniform.
template <typename T, int C, int FC>
__device__ __forceinline__ void compute_den_inter(const TaylorSmem<T, C>& sm, const TaylorConsts& tc, bool withA) {
    const int tid = threadIdx.x;
    if (tid < 4 * C) {
        const int t = tid >> 2;
        const int sub = tid & 3;
        const T c1 = (T)tc.c1;
        const T c2 = (T)tc.c2;
        const int f = FC > 0 ? FC : tc.f;
        const T* qt = sm.qR + t * (TF + 1);
        T part = sub == 0 ? sm.z[0] : (T)0;
        for (int i = sub; i < f; i += 4) {
            T inner = 0;
            const T* zq = sm.z + 1 + f + i * f;
#pragma unroll
            for (int j = 0; j < f; ++j) inner += qt[j] * zq[j];
            part += qt[i] * (c1 * sm.z[1 + i] + c2 * inner);
        }
        if (withA) {
            for (int s = sub; s < C; s += 4) part += sm.A[t * (C + 1) + s];
        }
        part += __shfl_xor_sync(0xffffffffu, part, 1);
        part += __shfl_xor_sync(0xffffffffu, part, 2);
        if (sub == 0) sm.den[t] = part;
    }
}

// acc[r][c] += Σ_d φ(q_t)[d]·S[d][e] for the thread's tokens t0 + r and columns cg·4 + c, φ formed on the fly
// from q (constant, linear and quadratic blocks of the Taylor layout). FC > 0 fixes f at compile time, so the
// feature loops unroll completely (f = 16 in every released model); FC = 0 reads it at run time.
template <typename T, int C, int TT, int FC>
__device__ __forceinline__ void inter_acc(const TaylorSmem<T, C>& sm, const TaylorConsts& tc, int t0, int cg,
                                          T (&acc)[TT][4]) {
    const int f = FC > 0 ? FC : tc.f;
    const T c1 = (T)tc.c1;
    const T c2 = (T)tc.c2;
    const int col = cg * 4;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        const T s0 = sm.S[col + c];
#pragma unroll
        for (int r = 0; r < TT; ++r) acc[r][c] += s0;
    }
#pragma unroll
    for (int i = 0; i < f; ++i) {
        T qi[TT];
#pragma unroll
        for (int r = 0; r < TT; ++r) qi[r] = sm.qT[i * C + t0 + r];
        const T* s1 = sm.S + (i64)(1 + i) * EV + col;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const T sv = s1[c];
#pragma unroll
            for (int r = 0; r < TT; ++r) acc[r][c] += c1 * qi[r] * sv;
        }
#pragma unroll
        for (int r = 0; r < TT; ++r) qi[r] *= c2;
        const T* s2 = sm.S + (i64)(1 + f + i * f) * EV + col;
#pragma unroll
        for (int j = 0; j < f; ++j) {
            T ph[TT];
#pragma unroll
            for (int r = 0; r < TT; ++r) ph[r] = qi[r] * sm.qT[j * C + t0 + r];
            const T* srow = s2 + (i64)j * EV;
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const T sv = srow[c];
#pragma unroll
                for (int r = 0; r < TT; ++r) acc[r][c] += ph[r] * sv;
            }
        }
    }
}

// acc[r][c] += Σ_s A[t0+r][s]·v[s][cg·4+c] over the staged key chunk (A is already masked).
template <typename T, int C, int TT>
__device__ __forceinline__ void intra_acc(const TaylorSmem<T, C>& sm, int t0, int cg, int sEnd, T (&acc)[TT][4]) {
    const int col = cg * 4;
    for (int s = 0; s < sEnd; ++s) {
        T vv[4];
#pragma unroll
        for (int c = 0; c < 4; ++c) vv[c] = sm.v[s * EV + col + c];
#pragma unroll
        for (int r = 0; r < TT; ++r) {
            const T a = sm.A[(t0 + r) * (C + 1) + s];
#pragma unroll
            for (int c = 0; c < 4; ++c) acc[r][c] += a * vv[c];
        }
    }
}

// The register-resident state of one thread: quadratic rows (i, 0..f-1) × 4 columns, the linear row i,
// the constant row (thread row i == 0), and one element of each block of z.
template <typename T> struct StateRegs {
    T s2[TF][4];
    T s1[4];
    T s0[4];
    T z2, z1, z0;
};

// Adds the staged key chunk to the thread's state registers: S += φ(k_s) v_sᵀ, z += φ(k_s) for existing keys
// (their values are zero already; valid scales the z terms).
template <typename T, int C>
__device__ __forceinline__ void update_regs(const TaylorSmem<T, C>& sm, const TaylorConsts& tc, int iRow, int cg,
                                            int n, StateRegs<T>& st) {
    const T c1 = (T)tc.c1;
    const T c2 = (T)tc.c2;
    const int col = cg * 4;
    for (int s = 0; s < n; ++s) {
        const T* ks = sm.kR + s * (TF + 1);
        T vv[4];
#pragma unroll
        for (int c = 0; c < 4; ++c) vv[c] = sm.v[s * EV + col + c];
        const T vl = sm.valid[s];
        const T ki = ks[iRow];  // zero when iRow ≥ f
        if (iRow == 0) {
#pragma unroll
            for (int c = 0; c < 4; ++c) st.s0[c] += vv[c];
            st.z0 += vl;
        }
        const T k1 = c1 * ki;
#pragma unroll
        for (int c = 0; c < 4; ++c) st.s1[c] += k1 * vv[c];
        const T kq = c2 * ki;
#pragma unroll
        for (int j = 0; j < TF; ++j) {
            const T ph = kq * ks[j];
#pragma unroll
            for (int c = 0; c < 4; ++c) st.s2[j][c] += ph * vv[c];
        }
        st.z1 += vl * k1;
        st.z2 += vl * kq * ks[cg];
    }
}

template <typename T>
__device__ __forceinline__ void zero_regs(StateRegs<T>& st) {
#pragma unroll
    for (int j = 0; j < TF; ++j)
#pragma unroll
        for (int c = 0; c < 4; ++c) st.s2[j][c] = 0;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        st.s1[c] = 0;
        st.s0[c] = 0;
    }
    st.z2 = 0;
    st.z1 = 0;
    st.z0 = 0;
}

// Thread (iRow = tid/16, cg = tid%16) owns state rows {0 if iRow == 0, 1+iRow, 1+f+iRow·f+j} × columns
// e0+cg·4..+3, and z[0] (thread 0), z[1+iRow] (cg == 0), z[1+f+iRow·f+cg].
template <typename T>
__device__ __forceinline__ void load_regs(StateRegs<T>& st, const T* S, const T* z, int f, int D, int dv, int e0,
                                          int iRow, int cg) {
    zero_regs(st);
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        const int e = e0 + cg * 4 + c;
        if (e >= dv) continue;
        const T* row = S + (i64)e * D;
        if (iRow == 0) st.s0[c] = row[0];
        if (iRow < f) {
            st.s1[c] = row[1 + iRow];
#pragma unroll
            for (int j = 0; j < TF; ++j)
                if (j < f) st.s2[j][c] = row[1 + f + iRow * f + j];
        }
    }
    if (iRow == 0 && cg == 0) st.z0 = z[0];
    if (iRow < f && cg == 0) st.z1 = z[1 + iRow];
    if (iRow < f && cg < f) st.z2 = z[1 + f + iRow * f + cg];
}

template <typename T>
__device__ __forceinline__ void store_regs(const StateRegs<T>& st, T* S, T* z, int f, int D, int dv, int e0,
                                           int iRow, int cg) {
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        const int e = e0 + cg * 4 + c;
        if (e >= dv) continue;
        T* row = S + (i64)e * D;
        if (iRow == 0) row[0] = st.s0[c];
        if (iRow < f) {
            row[1 + iRow] = st.s1[c];
#pragma unroll
            for (int j = 0; j < TF; ++j)
                if (j < f) row[1 + f + iRow * f + j] = st.s2[j][c];
        }
    }
    if (z != nullptr) {
        if (iRow == 0 && cg == 0) z[0] = st.z0;
        if (iRow < f && cg == 0) z[1 + iRow] = st.z1;
        if (iRow < f && cg < f) z[1 + f + iRow * f + cg] = st.z2;
    }
}

// Copies the registers into the shared state slice (rows not owned by anyone stay as staged before: every
// row < D of the slice is owned by exactly one thread).
template <typename T, int C>
__device__ __forceinline__ void regs_to_smem(const TaylorSmem<T, C>& sm, const StateRegs<T>& st, int f, int iRow,
                                             int cg) {
    const int col = cg * 4;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        if (iRow == 0) sm.S[col + c] = st.s0[c];
        if (iRow < f) {
            sm.S[(1 + iRow) * EV + col + c] = st.s1[c];
#pragma unroll
            for (int j = 0; j < TF; ++j)
                if (j < f) sm.S[(i64)(1 + f + iRow * f + j) * EV + col + c] = st.s2[j][c];
        }
    }
    if (iRow == 0 && cg == 0) sm.z[0] = st.z0;
    if (iRow < f && cg == 0) sm.z[1 + iRow] = st.z1;
    if (iRow < f && cg < f) sm.z[1 + f + iRow * f + cg] = st.z2;
}

// Writes the outputs of the thread's tokens and columns: the quotient, or the raw numerator (denOut mode).
template <typename T, int C, int TT>
__device__ __forceinline__ void write_out(const TaylorSmem<T, C>& sm, T (&acc)[TT][4], T* out, int L, int dv,
                                          int e0, int c0, int t0, int cg, T eps, bool raw) {
#pragma unroll
    for (int r = 0; r < TT; ++r) {
        const int t = c0 + t0 + r;
        if (t >= L) continue;
        const T den = sm.den[t0 + r] + eps;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int e = e0 + cg * 4 + c;
            if (e < dv) out[(i64)t * dv + e] = raw ? acc[r][c] : acc[r][c] / den;
        }
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------- Taylor, chunked

// grid (B·H, ceil(dv/64)); block 256; dynamic smem TaylorSmem<T, C>. The whole call runs chunk after chunk
// inside one block, carrying the state in registers: per chunk (1) stage q, k, v, (2) copy the state to
// shared memory, (3) A = masked φ(q)φ(k)ᵀ, (4) denominators, (5) outputs = φ(q)·S + A·V, (6) S += φ(k)ᵀV in
// registers. zOut receives z when this block owns it (blockIdx.y == 0); the host passes a scratch copy when
// several column blocks read zIn, so that no block reads a z another one already advanced.
template <typename T, int C, int FC>
__device__ void la_taylor_chunked_body(const T* q, const T* k, const T* v, T* out, T* denOut, T* kv, const T* zIn,
                                       T* zOut, int L, int f, int dv, T eps, int kStart) {
    constexpr int TT = C / 16;  // tokens per thread in the read-out
    B4J_SMEM(smem);
    const TaylorConsts tc(f);
    const TaylorSmem<T, C> sm(smem, tc.D);
    const int tid = threadIdx.x;
    const int iRow = tid >> 4;
    const int cg = tid & 15;
    const int t0 = (tid >> 4) * TT;
    const i64 bh = blockIdx.x;
    const int e0 = blockIdx.y * EV;
    const T* qh = q + bh * L * f;
    const T* kh = k + bh * L * f;
    const T* vh = v + bh * L * dv;
    T* oh = out + bh * L * dv;
    T* S = kv + bh * dv * tc.D;
    const bool raw = denOut != nullptr;

    StateRegs<T> st;
    load_regs(st, S, zIn + bh * tc.D, f, tc.D, dv, e0, iRow, cg);

    for (int c0 = 0; c0 < L; c0 += C) {
        const int n = b4j::imin(C, L - c0);
        load_q(sm, qh, L, f, c0);
        load_kv(sm, kh, vh, L, f, dv, e0, c0, kStart);
        regs_to_smem(sm, st, f, iRow, cg);
        __syncthreads();
        compute_A(sm, tc, true);
        __syncthreads();
        compute_den_inter<T, C, FC>(sm, tc, true);
        __syncthreads();
        T acc[TT][4];
#pragma unroll
        for (int r = 0; r < TT; ++r)
#pragma unroll
            for (int c = 0; c < 4; ++c) acc[r][c] = 0;
        inter_acc<T, C, TT, FC>(sm, tc, t0, cg, acc);
        intra_acc<T, C, TT>(sm, t0, cg, b4j::imin(C, t0 + TT), acc);
        write_out<T, C, TT>(sm, acc, oh, L, dv, e0, c0, t0, cg, eps, raw);
        if (raw && blockIdx.y == 0) {
            for (int t = tid; t < n; t += blockDim.x) denOut[bh * L + c0 + t] = sm.den[t];
        }
        update_regs(sm, tc, iRow, cg, n, st);
        __syncthreads();
    }
    store_regs(st, S, blockIdx.y == 0 ? zOut + bh * tc.D : (T*)nullptr, f, tc.D, dv, e0, iRow, cg);
}

template <typename T, int C>
__device__ void la_taylor_chunked_impl(const T* q, const T* k, const T* v, T* out, T* denOut, T* kv, const T* zIn,
                                       T* zOut, int L, int f, int dv, T eps, int kStart) {
    if (f == TF) {
        la_taylor_chunked_body<T, C, TF>(q, k, v, out, denOut, kv, zIn, zOut, L, f, dv, eps, kStart);
    } else {
        la_taylor_chunked_body<T, C, 0>(q, k, v, out, denOut, kv, zIn, zOut, L, f, dv, eps, kStart);
    }
}

// ---------------------------------------------------------------------------------------- Taylor, quadratic

// grid (B·H, ceil(L/C), ceil(dv/64)); block 256. One query chunk per block: φ(q)·S0 from the state as it was
// before the call, plus the masked L×L form over every key chunk up to the diagonal. The state is not
// changed here (la_taylor_state_update follows on the same stream).
template <typename T, int C, int FC>
__device__ void la_taylor_quadratic_body(const T* q, const T* k, const T* v, T* out, T* denOut, const T* kv,
                                         const T* z, int L, int f, int dv, T eps, int kStart) {
    constexpr int TT = C / 16;
    B4J_SMEM(smem);
    const TaylorConsts tc(f);
    const TaylorSmem<T, C> sm(smem, tc.D);
    const int tid = threadIdx.x;
    const int cg = tid & 15;
    const int t0 = (tid >> 4) * TT;
    const i64 bh = blockIdx.x;
    const int qc = blockIdx.y;
    const int c0 = qc * C;
    const int e0 = blockIdx.z * EV;
    const T* S = kv + bh * dv * tc.D;
    const T* zh = z + bh * tc.D;
    const bool raw = denOut != nullptr;

    for (int idx = tid; idx < tc.D * EV; idx += blockDim.x) {
        const int d = idx / EV;
        const int e = idx - d * EV;
        sm.S[idx] = e0 + e < dv ? S[(i64)(e0 + e) * tc.D + d] : (T)0;
    }
    for (int d = tid; d < tc.D; d += blockDim.x) sm.z[d] = zh[d];
    load_q(sm, q + bh * L * f, L, f, c0);
    __syncthreads();
    compute_den_inter<T, C, FC>(sm, tc, false);
    T acc[TT][4];
#pragma unroll
    for (int r = 0; r < TT; ++r)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[r][c] = 0;
    inter_acc<T, C, TT, FC>(sm, tc, t0, cg, acc);
    __syncthreads();
    for (int kc = 0; kc <= qc; ++kc) {
        load_kv(sm, k + bh * L * f, v + bh * L * dv, L, f, dv, e0, kc * C, kStart);
        __syncthreads();
        compute_A(sm, tc, kc == qc);
        __syncthreads();
        for (int t = tid; t < C; t += blockDim.x) {
            T sum = 0;
            for (int s = 0; s < C; ++s) sum += sm.A[t * (C + 1) + s];
            sm.den[t] += sum;
        }
        intra_acc<T, C, TT>(sm, t0, cg, C, acc);
        __syncthreads();
    }
    write_out<T, C, TT>(sm, acc, out + bh * L * dv, L, dv, e0, c0, t0, cg, eps, raw);
    if (raw && blockIdx.z == 0) {
        for (int t = tid; t < C && c0 + t < L; t += blockDim.x) denOut[bh * L + c0 + t] = sm.den[t];
    }
}

template <typename T, int C>
__device__ void la_taylor_quadratic_impl(const T* q, const T* k, const T* v, T* out, T* denOut, const T* kv,
                                         const T* z, int L, int f, int dv, T eps, int kStart) {
    if (f == TF) {
        la_taylor_quadratic_body<T, C, TF>(q, k, v, out, denOut, kv, z, L, f, dv, eps, kStart);
    } else {
        la_taylor_quadratic_body<T, C, 0>(q, k, v, out, denOut, kv, z, L, f, dv, eps, kStart);
    }
}

// grid (B·H, ceil(dv/64), segments); block 256. Sums φ(k_s) v_sᵀ and φ(k_s) over the segment's chunks in
// registers and adds them to the state with atomics (segments of one head run in parallel). z belongs to
// the blocks with blockIdx.y == 0.
template <typename T, int C>
__device__ void la_taylor_state_update_impl(const T* k, const T* v, T* kv, T* z, int L, int f, int dv,
                                            int chunksPerSegment, int kStart) {
    B4J_SMEM(smem);
    const TaylorConsts tc(f);
    const TaylorSmem<T, C> sm(smem, tc.D);
    const int tid = threadIdx.x;
    const int iRow = tid >> 4;
    const int cg = tid & 15;
    const i64 bh = blockIdx.x;
    const int e0 = blockIdx.y * EV;
    StateRegs<T> st;
    zero_regs(st);
    const int first = blockIdx.z * chunksPerSegment * C;
    const int last = b4j::imin(L, first + chunksPerSegment * C);
    for (int c0 = first; c0 < last; c0 += C) {
        load_kv(sm, k + bh * L * f, v + bh * L * dv, L, f, dv, e0, c0, kStart);
        __syncthreads();
        update_regs(sm, tc, iRow, cg, b4j::imin(C, L - c0), st);
        __syncthreads();
    }
    T* S = kv + bh * dv * tc.D;
    T* zh = z + bh * tc.D;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
        const int e = e0 + cg * 4 + c;
        if (e >= dv) continue;
        T* row = S + (i64)e * tc.D;
        if (iRow == 0) atomicAdd(row, st.s0[c]);
        if (iRow < f) {
            atomicAdd(row + 1 + iRow, st.s1[c]);
#pragma unroll
            for (int j = 0; j < TF; ++j)
                if (j < f) atomicAdd(row + 1 + f + iRow * f + j, st.s2[j][c]);
        }
    }
    if (blockIdx.y == 0) {
        if (iRow == 0 && cg == 0) atomicAdd(zh, st.z0);
        if (iRow < f && cg == 0) atomicAdd(zh + 1 + iRow, st.z1);
        if (iRow < f && cg < f) atomicAdd(zh + 1 + f + iRow * f + cg, st.z2);
    }
}

// ---------------------------------------------------------------------------------------- generic

// Any feature map, on φ(q), φ(k) computed ahead ([B·H][L][D]). grid (B·H); block 256; dynamic smem (below).
// Per chunk of 32 tokens: A = masked φ(q)φ(k)ᵀ and the denominators over D in tiles of 32, then per tile of
// 32 value columns: outputs A·V + φ(q)·S and the state update S += φ(k)ᵀV, tile by tile of D (each S tile is
// read for the outputs before it is advanced), and finally z. One block owns a head, so nothing races.
template <typename T>
__device__ void la_generic_impl(const T* phq, const T* phk, const T* v, T* out, T* denOut, T* kv, T* z, int L,
                                int D, int dv, T eps, int kStart) {
    constexpr int C = 32, DT = 32, EVG = 32;
    B4J_SMEM(smem);
    T* A = (T*)smem;                // [C][C+1]
    T* den = A + C * (C + 1);       // [C]
    T* qs = den + C;                // [C][DT+1]
    T* ks = qs + C * (DT + 1);      // [C][DT+1]
    T* zs = ks + C * (DT + 1);      // [DT]
    T* Ss = zs + DT;                // [EVG][DT+1]
    T* vs = Ss + EVG * (DT + 1);    // [C][EVG]
    T* valid = vs + C * EVG;        // [C]
    const int tid = threadIdx.x;
    const int nt = blockDim.x;
    const i64 bh = blockIdx.x;
    const T* Q = phq + bh * L * D;
    const T* K = phk + bh * L * D;
    const T* V = v + bh * L * dv;
    T* O = out + bh * L * dv;
    T* S = kv + bh * dv * D;
    T* Z = z + bh * D;
    const bool raw = denOut != nullptr;

    for (int c0 = 0; c0 < L; c0 += C) {
        const int n = b4j::imin(C, L - c0);
        for (int i = tid; i < C * (C + 1); i += nt) A[i] = 0;
        for (int t = tid; t < C; t += nt) {
            den[t] = 0;
            valid[t] = (t < n && c0 + t >= kStart) ? (T)1 : (T)0;
        }
        __syncthreads();
        // A and φ(q)·z over D in tiles
        for (int d0 = 0; d0 < D; d0 += DT) {
            for (int idx = tid; idx < C * DT; idx += nt) {
                const int t = idx / DT;
                const int dd = idx - t * DT;
                const bool in = t < n && d0 + dd < D;
                qs[t * (DT + 1) + dd] = in ? Q[(i64)(c0 + t) * D + d0 + dd] : (T)0;
                ks[t * (DT + 1) + dd] = in ? K[(i64)(c0 + t) * D + d0 + dd] : (T)0;
            }
            for (int dd = tid; dd < DT; dd += nt) zs[dd] = d0 + dd < D ? Z[d0 + dd] : (T)0;
            __syncthreads();
            for (int idx = tid; idx < C * C; idx += nt) {
                const int t = idx / C;
                const int s = idx - t * C;
                if (s <= t) {
                    T dot = 0;
                    for (int dd = 0; dd < DT; ++dd) dot += qs[t * (DT + 1) + dd] * ks[s * (DT + 1) + dd];
                    A[t * (C + 1) + s] += dot;
                }
            }
            for (int t = tid; t < C; t += nt) {
                T dot = 0;
                for (int dd = 0; dd < DT; ++dd) dot += qs[t * (DT + 1) + dd] * zs[dd];
                den[t] += dot;
            }
            __syncthreads();
        }
        for (int t = tid; t < C; t += nt) {
            T sum = 0;
            for (int s = 0; s <= t; ++s) {
                const T a = A[t * (C + 1) + s] * valid[s];
                A[t * (C + 1) + s] = a;
                sum += a;
            }
            den[t] += sum;
        }
        __syncthreads();
        for (int e0 = 0; e0 < dv; e0 += EVG) {
            for (int idx = tid; idx < C * EVG; idx += nt) {
                const int s = idx / EVG;
                const int e = idx - s * EVG;
                vs[idx] = (valid[s] != (T)0 && e0 + e < dv) ? V[(i64)(c0 + s) * dv + e0 + e] : (T)0;
            }
            __syncthreads();
            // thread outputs: idx = tid + nt·r over the C×EVG tile
            constexpr int PER = (C * EVG + 255) / 256;
            T acc[PER];
#pragma unroll
            for (int r = 0; r < PER; ++r) {
                acc[r] = 0;
                const int idx = tid + nt * r;
                if (idx < C * EVG) {
                    const int t = idx / EVG;
                    const int e = idx - t * EVG;
                    for (int s = 0; s <= t; ++s) acc[r] += A[t * (C + 1) + s] * vs[s * EVG + e];
                }
            }
            for (int d0 = 0; d0 < D; d0 += DT) {
                for (int idx = tid; idx < C * DT; idx += nt) {
                    const int t = idx / DT;
                    const int dd = idx - t * DT;
                    const bool in = t < n && d0 + dd < D;
                    qs[t * (DT + 1) + dd] = in ? Q[(i64)(c0 + t) * D + d0 + dd] : (T)0;
                    ks[t * (DT + 1) + dd] = in ? K[(i64)(c0 + t) * D + d0 + dd] : (T)0;
                }
                for (int idx = tid; idx < EVG * DT; idx += nt) {
                    const int e = idx / DT;
                    const int dd = idx - e * DT;
                    Ss[e * (DT + 1) + dd] = (e0 + e < dv && d0 + dd < D) ? S[(i64)(e0 + e) * D + d0 + dd] : (T)0;
                }
                __syncthreads();
#pragma unroll
                for (int r = 0; r < PER; ++r) {
                    const int idx = tid + nt * r;
                    if (idx < C * EVG) {
                        const int t = idx / EVG;
                        const int e = idx - t * EVG;
                        T dot = 0;
                        for (int dd = 0; dd < DT; ++dd) dot += qs[t * (DT + 1) + dd] * Ss[e * (DT + 1) + dd];
                        acc[r] += dot;
                    }
                }
                __syncthreads();
                for (int idx = tid; idx < EVG * DT; idx += nt) {
                    const int e = idx / DT;
                    const int dd = idx - e * DT;
                    if (e0 + e < dv && d0 + dd < D) {
                        T sum = Ss[e * (DT + 1) + dd];
                        for (int s = 0; s < n; ++s) sum += vs[s * EVG + e] * ks[s * (DT + 1) + dd];
                        S[(i64)(e0 + e) * D + d0 + dd] = sum;
                    }
                }
                __syncthreads();
            }
#pragma unroll
            for (int r = 0; r < PER; ++r) {
                const int idx = tid + nt * r;
                if (idx < C * EVG) {
                    const int t = idx / EVG;
                    const int e = idx - t * EVG;
                    if (t < n && e0 + e < dv) {
                        O[(i64)(c0 + t) * dv + e0 + e] = raw ? acc[r] : acc[r] / (den[t] + eps);
                    }
                }
            }
            __syncthreads();
        }
        for (int d = tid; d < D; d += nt) {
            T sum = Z[d];
            for (int s = 0; s < n; ++s) sum += valid[s] * K[(i64)(c0 + s) * D + d];
            Z[d] = sum;
        }
        if (raw) {
            for (int t = tid; t < n; t += nt) denOut[bh * L + c0 + t] = den[t];
        }
        __syncthreads();
    }
}

// ---------------------------------------------------------------------------------------- decode

// One token at index t of q/k/v [B·H][L][·] (L > 1 when prefill runs the recurrent form), any map with a
// decode form. grid (B·H); block 256; dynamic smem (2·D + dv + 1)·sizeof(T). Update first, then read out
// (the current token attends to itself): S[e] += v_e φ(k), z += φ(k), y_e = φ(q)·S[e] / (φ(q)·z + eps).
// The state is read and written exactly once, by whole warps walking rows, so decode moves the state at
// close to copy bandwidth; z is handled as row dv (a value column of ones).
template <typename T>
__device__ void la_decode_impl(const T* q, const T* k, const T* v, T* out, T* kv, T* z, int L, int t, int f, int D,
                               int dv, int kind, T mapEps, const T* w1, const T* w2, T eps) {
    B4J_SMEM(smem);
    T* phq = (T*)smem;
    T* phk = phq + D;
    T* nums = phk + D;  // [dv + 1]
    const i64 bh = blockIdx.x;
    const T* qv = q + (bh * L + t) * f;
    const T* kvec = k + (bh * L + t) * f;
    const T* vv = v + (bh * L + t) * dv;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        phq[d] = b4j::phi_elem<T>(kind, qv, f, D, d, 0, 1, mapEps, w1, w2);
        phk[d] = b4j::phi_elem<T>(kind, kvec, f, D, d, 0, 1, mapEps, w1, w2);
    }
    __syncthreads();
    const int lane = threadIdx.x & 31;
    const int warps = blockDim.x >> 5;
    T* S = kv + bh * dv * D;
    for (int r = threadIdx.x >> 5; r <= dv; r += warps) {
        T* row = r < dv ? S + (i64)r * D : z + bh * D;
        const T vr = r < dv ? vv[r] : (T)1;
        T acc = 0;
#pragma unroll 4
        for (int d = lane; d < D; d += 32) {
            const T s = row[d] + vr * phk[d];
            row[d] = s;
            acc += phq[d] * s;
        }
        acc = b4j::warp_sum(acc);
        if (lane == 0) nums[r] = acc;
    }
    __syncthreads();
    const T den = nums[dv] + eps;
    T* o = out + (bh * L + t) * dv;
    for (int e = threadIdx.x; e < dv; e += blockDim.x) o[e] = nums[e] / den;
}

// ---------------------------------------------------------------------------------------- exports

#define B4J_LA(T, SUF, C)                                                                                     \
    extern "C" __global__ void __launch_bounds__(256, 1)                                                      \
        la_taylor_chunked_##SUF(const T* q, const T* k, const T* v, T* out, T* denOut, T* kv, const T* zIn,   \
                                T* zOut, int L, int f, int dv, T eps, int kStart) {                           \
        la_taylor_chunked_impl<T, C>(q, k, v, out, denOut, kv, zIn, zOut, L, f, dv, eps, kStart);             \
    }                                                                                                         \
    B4J_EXPORT(la_taylor_chunked_##SUF)                                                                       \
    extern "C" __global__ void __launch_bounds__(256)                                                         \
        la_taylor_quadratic_##SUF(const T* q, const T* k, const T* v, T* out, T* denOut, const T* kv,         \
                                  const T* z, int L, int f, int dv, T eps, int kStart) {                      \
        la_taylor_quadratic_impl<T, C>(q, k, v, out, denOut, kv, z, L, f, dv, eps, kStart);                   \
    }                                                                                                         \
    B4J_EXPORT(la_taylor_quadratic_##SUF)                                                                     \
    extern "C" __global__ void __launch_bounds__(256, 1)                                                      \
        la_taylor_state_update_##SUF(const T* k, const T* v, T* kv, T* z, int L, int f, int dv,               \
                                     int chunksPerSegment, int kStart) {                                      \
        la_taylor_state_update_impl<T, C>(k, v, kv, z, L, f, dv, chunksPerSegment, kStart);                   \
    }                                                                                                         \
    B4J_EXPORT(la_taylor_state_update_##SUF)                                                                  \
    extern "C" __global__ void __launch_bounds__(256)                                                         \
        la_generic_##SUF(const T* phq, const T* phk, const T* v, T* out, T* denOut, T* kv, T* z, int L,       \
                         int D, int dv, T eps, int kStart) {                                                  \
        la_generic_impl<T>(phq, phk, v, out, denOut, kv, z, L, D, dv, eps, kStart);                           \
    }                                                                                                         \
    B4J_EXPORT(la_generic_##SUF)                                                                              \
    extern "C" __global__ void __launch_bounds__(256)                                                         \
        la_decode_##SUF(const T* q, const T* k, const T* v, T* out, T* kv, T* z, int L, int t, int f, int D,  \
                        int dv, int kind, T mapEps, const T* w1, const T* w2, T eps) {                        \
        la_decode_impl<T>(q, k, v, out, kv, z, L, t, f, D, dv, kind, mapEps, w1, w2, eps);                    \
    }                                                                                                         \
    B4J_EXPORT(la_decode_##SUF)

B4J_LA(float, f32, 64)
B4J_LA(double, f64, 32)
