// The fused linear-plus-window layer (sdk-conventions.md; Reference.basedAttention), cap = lookback + 1.
//
// Prefill of L tokens from position pos0 is assembled from four launches on one stream:
//   1. based_far_stream: the keys that enter the linear state during the call, in order. The query at call
//      index t sees far positions ≤ pos0 + t − cap, so stream entry t is the token at position
//      pos0 + t − cap: from the ring while that position precedes the call, from the call's input after.
//      Entries at negative positions do not exist (the first kStart = clamp(cap − pos0, 0, L) ones).
//   2. linear attention (linear_attention.cu, raw mode) of q over that stream, inclusive causal, continuing
//      from the far state: numerators and denominators, and the far state advanced over the stream.
//   3. swa_prefill with fused = 1: the exact window, combined with 2 under one normaliser.
//   4. swa_ring_write: the call's last tokens into the ring.
// Decode is one kernel (based_decode) that does the same for one token of every head.
#include "b4j_feature_map.cuh"

// grid-stride over (B·H, t, element): ks [B·H][L][dk], vs [B·H][L][dv] (zeros where the entry does not exist)
template <typename T>
__device__ void based_far_stream_impl(const T* k, const T* v, const T* ringK, const T* ringV, T* ks, T* vs, int BH,
                                      int L, int dk, int dv, i64 pos0, int cap) {
    const int per = dk + dv;
    const i64 total = (i64)BH * L * per;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const i64 row = idx / per;
        const int i = (int)(idx - row * per);
        const i64 bh = row / L;
        const int t = (int)(row - bh * L);
        const i64 m = pos0 + t - cap;
        const bool key = i < dk;
        const int c = key ? i : i - dk;
        T val = 0;
        if (m >= pos0) {
            val = key ? k[(bh * L + (t - cap)) * dk + c] : v[(bh * L + (t - cap)) * dv + c];
        } else if (m >= 0) {
            const i64 slot = m % cap;
            val = key ? ringK[(bh * cap + slot) * dk + c] : ringV[(bh * cap + slot) * dv + c];
        }
        if (key) {
            ks[row * dk + c] = val;
        } else {
            vs[row * dv + c] = val;
        }
    }
}

// One token at position pos for every (batch, head). grid (B·H); block 256 (8 warps); dynamic smem
// (2·D + (dv + 1) + f + NW·(VCH + 2))·sizeof(T).
//   1. when pos ≥ cap, the token in slot pos mod cap (position pos − cap) leaves the window: φ of its key;
//   2. whole warps walk the rows of the far state (z as row dv), adding that key when it leaves, and read out
//      φ(q)·S[e] and φ(q)·z;
//   3. the new token is stored in the freed slot;
//   4. the exact window over the ring, warps on interleaved key groups with online softmax, merged, and
//      combined with 2 under one normaliser.
template <typename T>
__device__ void based_decode_impl(const T* q, const T* k, const T* v, T* out, T* kv, T* z, T* ringK, T* ringV,
                                  int f, int D, int dv, i64 pos, int lookback, T scale, int kind, T mapEps,
                                  const T* w1, const T* w2, T eps) {
    constexpr int NW = 8, VPL = 4, VCH = 32 * VPL;
    B4J_SMEM(smem);
    T* phq = (T*)smem;        // [D]
    T* phk = phq + D;         // [D]
    T* nums = phk + D;        // [dv + 1]
    T* qs = nums + dv + 1;    // [f]
    T* part = qs + f;         // [NW][VCH + 2]
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const i64 bh = blockIdx.x;
    const int cap = lookback + 1;
    const i64 slot = pos % cap;
    const bool evict = pos >= cap;
    const T* qv = q + bh * f;
    const T* kOld = ringK + (bh * cap + slot) * f;
    const T* vOld = ringV + (bh * cap + slot) * dv;
    for (int i = tid; i < f; i += blockDim.x) qs[i] = qv[i];
    for (int d = tid; d < D; d += blockDim.x) {
        phq[d] = b4j::phi_elem<T>(kind, qv, f, D, d, 0, 1, mapEps, w1, w2);
        phk[d] = evict ? b4j::phi_elem<T>(kind, kOld, f, D, d, 0, 1, mapEps, w1, w2) : (T)0;
    }
    __syncthreads();
    T* S = kv + bh * dv * D;
    for (int r = warp; r <= dv; r += NW) {
        T* row = r < dv ? S + (i64)r * D : z + bh * D;
        T acc = 0;
        if (evict) {
            const T vr = r < dv ? vOld[r] : (T)1;
#pragma unroll 4
            for (int d = lane; d < D; d += 32) {
                const T s = row[d] + vr * phk[d];
                row[d] = s;
                acc += phq[d] * s;
            }
        } else {
#pragma unroll 4
            for (int d = lane; d < D; d += 32) acc += phq[d] * row[d];
        }
        acc = b4j::warp_sum(acc);
        if (lane == 0) nums[r] = acc;
    }
    __syncthreads();
    for (int i = tid; i < f; i += blockDim.x) ringK[(bh * cap + slot) * f + i] = k[bh * f + i];
    for (int i = tid; i < dv; i += blockDim.x) ringV[(bh * cap + slot) * dv + i] = v[bh * dv + i];
    __syncthreads();

    const i64 lo = b4j::lmax(0, pos - lookback);
    const T farDen = nums[dv];
    for (int e0 = 0; e0 < dv; e0 += VCH) {
        T m = b4j::neg_inf<T>();
        T l = 0;
        T acc[VPL];
#pragma unroll
        for (int r = 0; r < VPL; ++r) acc[r] = 0;
        for (i64 kb = lo + (i64)warp * 32; kb <= pos; kb += (i64)NW * 32) {
            const i64 mpos = kb + lane;
            const bool ok = mpos <= pos;
            T s = b4j::neg_inf<T>();
            if (ok) {
                const T* kr = ringK + (bh * cap + mpos % cap) * f;
                T dot = 0;
                for (int i = 0; i < f; ++i) dot += qs[i] * kr[i];
                s = scale * dot;
            }
            const T mNew = b4j::max_(m, b4j::warp_max(s));
            const T corr = b4j::exp_(m - mNew);
            const T pj = ok ? b4j::exp_(s - mNew) : (T)0;
            l = l * corr + b4j::warp_sum(pj);
#pragma unroll
            for (int r = 0; r < VPL; ++r) acc[r] *= corr;
            const int count = (int)b4j::lmin(32, pos - kb + 1);
            for (int j = 0; j < count; ++j) {
                const T pb = __shfl_sync(0xffffffffu, pj, j);
                const T* vr = ringV + (bh * cap + (kb + j) % cap) * dv;
#pragma unroll
                for (int r = 0; r < VPL; ++r) {
                    const int e = e0 + lane + 32 * r;
                    if (e < dv) acc[r] += pb * vr[e];
                }
            }
            m = mNew;
        }
        T* mine = part + warp * (VCH + 2);
#pragma unroll
        for (int r = 0; r < VPL; ++r) mine[lane + 32 * r] = acc[r];
        if (lane == 0) {
            mine[VCH] = m;
            mine[VCH + 1] = l;
        }
        __syncthreads();
        T M = b4j::neg_inf<T>();
        for (int w = 0; w < NW; ++w) M = b4j::max_(M, part[w * (VCH + 2) + VCH]);
        T Lsum = 0;
        for (int w = 0; w < NW; ++w) {
            const T mw = part[w * (VCH + 2) + VCH];
            if (mw != b4j::neg_inf<T>()) Lsum += part[w * (VCH + 2) + VCH + 1] * b4j::exp_(mw - M);
        }
        // far keys exist once a token has left the window; then c may drop to 0 so e^{−c} cannot overflow
        const T c = (evict && M < (T)0) ? (T)0 : M;
        const T rr = b4j::exp_(M - c);
        const T shrink = b4j::exp_(-c);
        for (int e = tid; e < VCH && e0 + e < dv; e += blockDim.x) {
            T a = 0;
            for (int w = 0; w < NW; ++w) {
                const T mw = part[w * (VCH + 2) + VCH];
                if (mw != b4j::neg_inf<T>()) a += part[w * (VCH + 2) + e] * b4j::exp_(mw - M);
            }
            out[bh * dv + e0 + e] = (a * rr + shrink * nums[e0 + e]) / (Lsum * rr + shrink * (farDen + eps));
        }
        __syncthreads();
    }
}

#define B4J_BASED(T, SUF)                                                                                      \
    extern "C" __global__ void based_far_stream_##SUF(const T* k, const T* v, const T* ringK, const T* ringV,  \
                                                      T* ks, T* vs, int BH, int L, int dk, int dv, i64 pos0,   \
                                                      int cap) {                                               \
        based_far_stream_impl<T>(k, v, ringK, ringV, ks, vs, BH, L, dk, dv, pos0, cap);                        \
    }                                                                                                          \
    B4J_EXPORT(based_far_stream_##SUF)                                                                         \
    extern "C" __global__ void __launch_bounds__(256)                                                          \
        based_decode_##SUF(const T* q, const T* k, const T* v, T* out, T* kv, T* z, T* ringK, T* ringV, int f, \
                           int D, int dv, i64 pos, int lookback, T scale, int kind, T mapEps, const T* w1,     \
                           const T* w2, T eps) {                                                               \
        based_decode_impl<T>(q, k, v, out, kv, z, ringK, ringV, f, D, dv, pos, lookback, scale, kind, mapEps,  \
                             w1, w2, eps);                                                                     \
    }                                                                                                          \
    B4J_EXPORT(based_decode_##SUF)

B4J_BASED(float, f32)
B4J_BASED(double, f64)
