// Sliding-window softmax attention continuing from a ring buffer (sdk-conventions.md; Reference.slidingWindow):
// the query at absolute position p sees keys at positions max(0, p − lookback) .. p; the token at position m
// sits in ring slot m mod cap. Positions before this call (pos0) are read from the ring, the others from the
// call's own k and v, so no query ever reads a slot this call overwrites; swa_ring_write stores the call's
// last min(L, cap) tokens afterwards. lookback is a 64-bit count (the unbounded window passes a huge one).
//
// The fused layer (based_attention.cu) reuses the prefill kernel with fused = 1: the near part is combined
// with the far numerators and denominators of the linear part as
//   y = (Σ_near e^{s−c} v + e^{−c}·farNum) / (Σ_near e^{s−c} + e^{−c}·(farDen + eps)),  c = max_near s
// (c is raised to 0 when far keys exist and c < 0, so that e^{−c} cannot overflow; the quotient is the
// same function).
#include "b4j_common.cuh"

namespace {

constexpr int QB = 16;        // queries per block
constexpr int NW = 4;         // warps per block
constexpr int QPW = QB / NW;  // queries per warp
constexpr int KT = 32;        // keys per shared tile, one per lane
constexpr int VPL = 4;        // value columns per lane
constexpr int VCH = 32 * VPL; // value columns per block

template <typename T>
__device__ __forceinline__ T dot_(const T* a, const T* b, int n) {
    T s = 0;
    for (int i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

// Final combination of one output element from the running softmax (max m, sum l, weighted values acc).
template <typename T>
__device__ __forceinline__ T finish(T acc, T m, T l, bool fused, bool hasFar, T farNum, T farDen, T eps) {
    if (!fused) return acc / l;
    const T c = (hasFar && m < (T)0) ? (T)0 : m;
    const T r = b4j::exp_(m - c);
    const T shrink = b4j::exp_(-c);
    return (acc * r + shrink * farNum) / (l * r + shrink * (farDen + eps));
}

}  // namespace

// grid (B·H, ceil(L/16), ceil(dv/128)); block 128; dynamic smem (QB·dk + KT·(dk+1) + KT·VCH)·sizeof(T).
// Flash-attention style: the block walks the union of its 16 queries' windows in tiles of 32 keys staged in
// shared memory; each warp keeps an online softmax (running max, running sum, rescaled accumulator) for 4
// queries, lane j scoring key j of the tile and the weights broadcast by shuffles for the value sums.
template <typename T>
__device__ void swa_prefill_impl(const T* q, const T* k, const T* v, T* out, const T* ringK, const T* ringV, int L,
                                 int dk, int dv, i64 pos0, i64 lookback, int cap, T scale, const T* farNum,
                                 const T* farDen, T eps, int fused) {
    B4J_SMEM(smem);
    T* qs = (T*)smem;            // [QB][dk]
    T* ks = qs + QB * dk;        // [KT][dk+1]
    T* vs = ks + KT * (dk + 1);  // [KT][VCH]
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const i64 bh = blockIdx.x;
    const int t0 = blockIdx.y * QB;
    const int e0 = blockIdx.z * VCH;
    const int tEnd = b4j::imin(L, t0 + QB);

    for (int idx = tid; idx < QB * dk; idx += blockDim.x) {
        const int t = idx / dk;
        const int i = idx - t * dk;
        qs[idx] = t0 + t < L ? q[(bh * L + t0 + t) * dk + i] : (T)0;
    }
    const i64 hi = pos0 + tEnd - 1;
    const i64 lo = b4j::lmax(0, pos0 + t0 - lookback);

    T m[QPW], l[QPW], acc[QPW][VPL];
#pragma unroll
    for (int a = 0; a < QPW; ++a) {
        m[a] = b4j::neg_inf<T>();
        l[a] = 0;
#pragma unroll
        for (int r = 0; r < VPL; ++r) acc[a][r] = 0;
    }

    for (i64 kb = lo; kb <= hi; kb += KT) {
        __syncthreads();
        for (int idx = tid; idx < KT * dk; idx += blockDim.x) {
            const int j = idx / dk;
            const int i = idx - j * dk;
            const i64 mpos = kb + j;
            T val = 0;
            if (mpos <= hi) {
                val = mpos >= pos0 ? k[(bh * L + (mpos - pos0)) * dk + i] : ringK[(bh * cap + mpos % cap) * dk + i];
            }
            ks[j * (dk + 1) + i] = val;
        }
        for (int idx = tid; idx < KT * VCH; idx += blockDim.x) {
            const int j = idx / VCH;
            const int e = idx - j * VCH;
            const i64 mpos = kb + j;
            T val = 0;
            if (mpos <= hi && e0 + e < dv) {
                val = mpos >= pos0 ? v[(bh * L + (mpos - pos0)) * dv + e0 + e]
                                   : ringV[(bh * cap + mpos % cap) * dv + e0 + e];
            }
            vs[idx] = val;
        }
        __syncthreads();
#pragma unroll
        for (int a = 0; a < QPW; ++a) {
            const int tl = warp * QPW + a;
            const int t = t0 + tl;
            const i64 p = pos0 + t;
            const i64 mpos = kb + lane;
            const bool ok = t < L && mpos <= p && mpos >= p - lookback && mpos <= hi;
            const T s = ok ? scale * dot_(qs + tl * dk, ks + lane * (dk + 1), dk) : b4j::neg_inf<T>();
            const T mNew = b4j::max_(m[a], b4j::warp_max(s));
            if (mNew == b4j::neg_inf<T>()) continue;  // warp-uniform: no key of this tile in the window yet
            const T corr = b4j::exp_(m[a] - mNew);
            const T pj = ok ? b4j::exp_(s - mNew) : (T)0;
            l[a] = l[a] * corr + b4j::warp_sum(pj);
#pragma unroll
            for (int r = 0; r < VPL; ++r) acc[a][r] *= corr;
            for (int j = 0; j < KT; ++j) {
                const T pb = __shfl_sync(0xffffffffu, pj, j);
#pragma unroll
                for (int r = 0; r < VPL; ++r) acc[a][r] += pb * vs[j * VCH + lane + 32 * r];
            }
            m[a] = mNew;
        }
    }
#pragma unroll
    for (int a = 0; a < QPW; ++a) {
        const int t = t0 + warp * QPW + a;
        if (t >= L) continue;
        const i64 p = pos0 + t;
        const bool hasFar = p - lookback - 1 >= 0;
        const T fd = fused ? farDen[bh * L + t] : (T)0;
#pragma unroll
        for (int r = 0; r < VPL; ++r) {
            const int e = e0 + lane + 32 * r;
            if (e >= dv) continue;
            const T fn = fused ? farNum[(bh * L + t) * dv + e] : (T)0;
            out[(bh * L + t) * dv + e] = finish(acc[a][r], m[a], l[a], fused != 0, hasFar, fn, fd, eps);
        }
    }
}

// Stores the call's last min(L, cap) tokens into their ring slots. grid-stride over (B·H, token, element).
template <typename T>
__device__ void swa_ring_write_impl(const T* k, const T* v, T* ringK, T* ringV, int BH, int L, int dk, int dv,
                                    i64 pos0, int cap) {
    const int nw = b4j::imin(L, cap);
    const int per = dk + dv;
    const i64 total = (i64)BH * nw * per;
    for (i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += (i64)gridDim.x * blockDim.x) {
        const i64 row = idx / per;
        const int i = (int)(idx - row * per);
        const i64 bh = row / nw;
        const int t = L - nw + (int)(row - bh * nw);
        const i64 slot = (pos0 + t) % cap;
        if (i < dk) {
            ringK[(bh * cap + slot) * dk + i] = k[(bh * L + t) * dk + i];
        } else {
            ringV[(bh * cap + slot) * dv + (i - dk)] = v[(bh * L + t) * dv + (i - dk)];
        }
    }
}

// One token at position pos for every (batch, head): grid (B·H); block 128 (4 warps); dynamic smem
// (dk + NW·(VCH + 2))·sizeof(T). Warps take interleaved 32-key groups of the window (the current token
// from the input, the others from the ring), each with an online softmax; the warps' partial results are
// merged in shared memory. Value columns beyond 128 run in further passes. Finally the token is stored in
// its slot, which holds position pos − cap, outside the window.
template <typename T>
__device__ void swa_decode_impl(const T* q, const T* k, const T* v, T* out, T* ringK, T* ringV, int dk, int dv,
                                i64 pos, i64 lookback, int cap, T scale) {
    B4J_SMEM(smem);
    T* qs = (T*)smem;            // [dk]
    T* part = qs + dk;           // [NW][VCH + 2]: acc…, m, l
    const int tid = threadIdx.x;
    const int lane = tid & 31;
    const int warp = tid >> 5;
    const i64 bh = blockIdx.x;
    for (int i = tid; i < dk; i += blockDim.x) qs[i] = q[bh * dk + i];
    __syncthreads();
    const i64 lo = b4j::lmax(0, pos - lookback);
    const T* kCur = k + bh * dk;
    const T* vCur = v + bh * dv;
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
                const T* kr = mpos == pos ? kCur : ringK + (bh * cap + mpos % cap) * dk;
                s = scale * dot_(qs, kr, dk);
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
                const i64 mj = kb + j;
                const T* vr = mj == pos ? vCur : ringV + (bh * cap + mj % cap) * dv;
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
        for (int e = tid; e < VCH && e0 + e < dv; e += blockDim.x) {
            T a = 0;
            for (int w = 0; w < NW; ++w) {
                const T mw = part[w * (VCH + 2) + VCH];
                if (mw != b4j::neg_inf<T>()) a += part[w * (VCH + 2) + e] * b4j::exp_(mw - M);
            }
            out[bh * dv + e0 + e] = a / Lsum;
        }
        __syncthreads();
    }
    const i64 slot = pos % cap;
    for (int i = tid; i < dk; i += blockDim.x) ringK[(bh * cap + slot) * dk + i] = kCur[i];
    for (int i = tid; i < dv; i += blockDim.x) ringV[(bh * cap + slot) * dv + i] = vCur[i];
}

#define B4J_SWA(T, SUF)                                                                                        \
    extern "C" __global__ void __launch_bounds__(128)                                                          \
        swa_prefill_##SUF(const T* q, const T* k, const T* v, T* out, const T* ringK, const T* ringV, int L,  \
                          int dk, int dv, i64 pos0, i64 lookback, int cap, T scale, const T* farNum,           \
                          const T* farDen, T eps, int fused) {                                                 \
        swa_prefill_impl<T>(q, k, v, out, ringK, ringV, L, dk, dv, pos0, lookback, cap, scale, farNum, farDen, \
                            eps, fused);                                                                       \
    }                                                                                                          \
    B4J_EXPORT(swa_prefill_##SUF)                                                                              \
    extern "C" __global__ void swa_ring_write_##SUF(const T* k, const T* v, T* ringK, T* ringV, int BH, int L, \
                                                    int dk, int dv, i64 pos0, int cap) {                       \
        swa_ring_write_impl<T>(k, v, ringK, ringV, BH, L, dk, dv, pos0, cap);                                  \
    }                                                                                                          \
    B4J_EXPORT(swa_ring_write_##SUF)                                                                           \
    extern "C" __global__ void __launch_bounds__(128)                                                          \
        swa_decode_##SUF(const T* q, const T* k, const T* v, T* out, T* ringK, T* ringV, int dk, int dv,       \
                         i64 pos, i64 lookback, int cap, T scale) {                                            \
        swa_decode_impl<T>(q, k, v, out, ringK, ringV, dk, dv, pos, lookback, cap, scale);                     \
    }                                                                                                          \
    B4J_EXPORT(swa_decode_##SUF)

B4J_SWA(float, f32)
B4J_SWA(double, f64)
