package dev.based4j.cpu.kernels;

import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The fused linear-plus-window layer ({@code sdk-conventions.md}): exact softmax over the {@code lookback + 1}
 * most recent keys, linear attention over the keys that left the window, one shared normaliser. Token by token,
 * as {@link Reference#basedAttention} defines it: the key leaving the ring enters the linear state, then
 * {@code y = (Σ_near e^{s-c} v + e^{-c} φ(q)·S) / (Σ_near e^{s-c} + e^{-c}(φ(q)·z + eps))} with
 * {@code c = max_near s}. The scores and sums are float; {@code e^{-c}} and the final combination are double,
 * so large scores (q, k with std 4) neither overflow nor lose the far part. One task per (batch, head).
 */
public final class BasedAttentionKernels implements BasedAttentionFamily<CpuBuffer> {
    /** The weight of a key in {@code z}: {@code z += 1·φ(k)}. */
    private static final float[] ONE = {1f};

    private final CpuPool pool;
    private final F32Kernels kernels;

    /** @param kernels the float32 inner loops */
    public BasedAttentionKernels(CpuPool pool, F32Kernels kernels) {
        this.pool = pool;
        this.kernels = kernels;
    }

    /**
     * Prefill or decode (the same computation) of {@code seq} tokens per head.
     *
     * @param kv far state {@code [batch, heads, dv, D]}
     * @param z far state {@code [batch, heads, D]}
     * @param ringK raw keys {@code [batch, heads, lookback+1, f]}
     * @param ringV values {@code [batch, heads, lookback+1, dv]}
     * @param position tokens seen before this call
     */
    public void apply(DType dtype, BasedAttentionSpec spec, int batch, int heads, int seq, int valueDim,
            MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment ringK,
            MemorySegment ringV, long position, MemorySegment out) {
        int f = spec.featureMap().inputDim();
        int d = spec.featureMap().outputDim();
        long window = Math.min((long) spec.lookback() + 1, position + seq);
        long work = seq * (window * (f + valueDim) + 2L * d * valueDim);
        if (dtype == DType.F64) {
            pool.forEach(batch * heads, work, bh -> reference(spec, bh, seq, valueDim, q, k, v, kv, z, ringK, ringV,
                    position, out));
        } else {
            F32FeatureMap full = F32FeatureMap.of(spec.featureMap(), kernels);
            F32FeatureMap phi = TaylorPacking.applies(dtype, spec.featureMap()) ? full.compact() : full;
            if (seq == 1) {
                pool.forEachInRanges(batch * heads, work, bh -> decode32(spec, phi, bh, valueDim, q, k, v, kv, z,
                        ringK, ringV, position, out));
            } else {
                pool.forEach(batch * heads, work, bh -> float32(spec, phi, bh, seq, valueDim, q, k, v, kv, z, ringK,
                        ringV, position, out));
            }
        }
    }

    /**
     * One decode step of one head where the state lies: the key leaving the window is read from its slot and enters
     * the far state in the same pass that reads the state out; then the token takes that slot, and the window's
     * scores and weighted values are read from the ring in place.
     */
    private void decode32(BasedAttentionSpec spec, F32FeatureMap phi, int bh, int dv, MemorySegment q,
            MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment ringK,
            MemorySegment ringV, long position, MemorySegment out) {
        int f = phi.inputDim;
        int dw = phi.outputDim;
        int d = spec.featureMap().outputDim();
        int lookback = spec.lookback();
        int cap = lookback + 1;
        long headK = (long) bh * cap * f;
        long headV = (long) bh * cap * dv;
        int slot = (int) (position % cap);
        float[] qh = Scratch.floats(2, f);
        float[] leaving = Scratch.floats(0, f + dv);
        float[] scores = Scratch.floats(4, cap);
        float[] y = Scratch.floats(3, dv);
        float[] phiQ = Scratch.floats(7, dw + LinearAttentionKernels.VECTOR_ROOM);
        float[] phiK = Scratch.floats(8, dw + LinearAttentionKernels.VECTOR_ROOM);
        float[] farNum = Scratch.floats(9, dv);
        float[] den = Scratch.floats(10, 1);
        Mem.read(q, (long) bh * f, qh, 0, f);
        phi.applyQuery(qh, 0, 0, 1, phiQ, 0);
        double farDen;
        if (position >= cap) {
            // token position - cap leaves the window and enters the linear state, which is then read out
            Mem.read(ringK, headK + (long) slot * f, leaving, 0, f);
            Mem.read(ringV, headV + (long) slot * dv, leaving, f, dv);
            phi.apply(leaving, 0, 0, 1, phiK, 0);
            kernels.updateThenProject(z, (long) bh * d, 1, dw, d, ONE, 0, phiK, 0, phiQ, 0, den, 0);
            kernels.updateThenProject(kv, (long) bh * dv * d, dv, dw, dw, leaving, f, phiK, 0, phiQ, 0, farNum, 0);
            farDen = den[0];
        } else {
            kernels.dotRows(phiQ, 0, kv, (long) bh * dv * d, dw, dv, dw, farNum, 0);
            farDen = kernels.dot(phiQ, 0, z, (long) bh * d, dw);
        }
        MemorySegment.copy(k, Mem.F32, (long) bh * f * Float.BYTES, ringK, Mem.F32,
                (headK + (long) slot * f) * Float.BYTES, f);
        MemorySegment.copy(v, Mem.F32, (long) bh * dv * Float.BYTES, ringV, Mem.F32,
                (headV + (long) slot * dv) * Float.BYTES, dv);
        long first = Math.max(0, position - lookback);
        int count = (int) (position - first + 1);
        Ring.scores(kernels, qh, ringK, headK, cap, f, first, position + 1, scores);
        float scale = (float) spec.effectiveScale();
        for (int i = 0; i < count; i++) {
            scores[i] *= scale;
        }
        float c = kernels.max(scores, 0, count);
        double nearDen = kernels.expShifted(scores, 0, count, c);
        java.util.Arrays.fill(y, 0, dv, 0f);
        Ring.weightedSum(kernels, scores, ringV, headV, cap, dv, first, position + 1, y);
        double shrink = Math.exp(-(double) c);
        double total = nearDen + shrink * (farDen + spec.eps());
        for (int e = 0; e < dv; e++) {
            y[e] = (float) ((y[e] + shrink * farNum[e]) / total);
        }
        Mem.write(y, 0, out, (long) bh * dv, dv);
    }

    private static void reference(BasedAttentionSpec spec, int bh, int seq, int dv, MemorySegment q, MemorySegment k,
            MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment ringK, MemorySegment ringV,
            long position, MemorySegment out) {
        int f = spec.featureMap().inputDim();
        int d = spec.featureMap().outputDim();
        int cap = spec.lookback() + 1;
        double[] kvHead = Mem.readDoubles(kv, (long) bh * dv * d, dv * d);
        double[] zHead = Mem.readDoubles(z, (long) bh * d, d);
        double[] keys = Mem.readDoubles(ringK, (long) bh * cap * f, cap * f);
        double[] values = Mem.readDoubles(ringV, (long) bh * cap * dv, cap * dv);
        double[] y = Reference.basedAttention(spec, Mem.readDoubles(q, (long) bh * seq * f, seq * f),
                Mem.readDoubles(k, (long) bh * seq * f, seq * f), Mem.readDoubles(v, (long) bh * seq * dv, seq * dv),
                1, 1, seq, dv, kvHead, zHead, keys, values, position);
        Mem.write(y, 0, out, (long) bh * seq * dv, seq * dv);
        Mem.write(kvHead, 0, kv, (long) bh * dv * d, dv * d);
        Mem.write(zHead, 0, z, (long) bh * d, d);
        Mem.write(keys, 0, ringK, (long) bh * cap * f, cap * f);
        Mem.write(values, 0, ringV, (long) bh * cap * dv, cap * dv);
    }

    /**
     * One head. The ring's tokens and this call's are laid out in position order on the heap: the window of each
     * query is one contiguous range, and the token leaving the window is found there before the ring is
     * overwritten.
     */
    private void float32(BasedAttentionSpec spec, F32FeatureMap phi, int bh, int seq, int dv, MemorySegment q,
            MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment ringK,
            MemorySegment ringV, long position, MemorySegment out) {
        int f = phi.inputDim;
        // phi is the compact map when the far state is packed: the first d floats of each state row of width dFull
        int d = phi.outputDim;
        int dFull = spec.featureMap().outputDim();
        int lookback = spec.lookback();
        int cap = lookback + 1;
        int old = (int) Math.min(position, cap);
        long base = position - old;
        int tokens = old + seq;
        float[] keys = Scratch.floats(0, tokens * f);
        float[] values = Scratch.floats(1, tokens * dv);
        float[] qh = Scratch.floats(2, seq * f);
        float[] y = Scratch.floats(3, seq * dv);
        float[] scores = Scratch.floats(4, Math.min(cap, tokens));
        float[] s = Scratch.floats(5, dv * d);
        float[] zh = Scratch.floats(6, d);
        float[] phiQ = Scratch.floats(7, d);
        float[] phiK = Scratch.floats(8, d);
        float[] farNum = Scratch.floats(9, dv);
        long headK = (long) bh * cap * f;
        long headV = (long) bh * cap * dv;
        Ring.gather(ringK, headK, cap, f, base, position, keys, 0);
        Ring.gather(ringV, headV, cap, dv, base, position, values, 0);
        Mem.read(k, (long) bh * seq * f, keys, old * f, seq * f);
        Mem.read(v, (long) bh * seq * dv, values, old * dv, seq * dv);
        Mem.read(q, (long) bh * seq * f, qh, 0, seq * f);
        // a head's dv rows of d floats lie back to back at the start of its block (TaylorPacking)
        Mem.read(kv, (long) bh * dv * dFull, s, 0, dv * d);
        Mem.read(z, (long) bh * dFull, zh, 0, d);
        float scale = (float) spec.effectiveScale();
        double eps = spec.eps();
        for (int n = 0; n < seq; n++) {
            long p = position + n;
            int last = old + n;
            phi.applyQuery(qh, n * f, 0, 1, phiQ, 0);
            if (p >= cap) {
                // token p - cap leaves the window and enters the linear state, which is then read out
                int leaving = (int) (p - cap - base);
                phi.apply(keys, leaving * f, 0, 1, phiK, 0);
                kernels.axpy(1f, phiK, 0, zh, 0, d);
                kernels.updateThenProject(s, 0, dv, d, values, leaving * dv, phiK, 0, phiQ, 0, farNum, 0);
            } else {
                kernels.matmulTransposed(phiQ, 0, d, s, 0, d, farNum, 0, dv, 1, d, dv, false);
            }
            double farDen = kernels.dot(phiQ, 0, zh, 0, d);
            int first = (int) (Math.max(0, p - lookback) - base);
            int count = last - first + 1;
            kernels.matmulTransposed(qh, n * f, f, keys, first * f, f, scores, 0, count, 1, f, count, false);
            for (int i = 0; i < count; i++) {
                scores[i] *= scale;
            }
            float c = kernels.max(scores, 0, count);
            double nearDen = kernels.expShifted(scores, 0, count, c);
            int yo = n * dv;
            kernels.matmul(scores, 0, count, values, first * dv, dv, y, yo, dv, 1, count, dv, false);
            double shrink = Math.exp(-(double) c);
            double den = nearDen + shrink * (farDen + eps);
            for (int e = 0; e < dv; e++) {
                y[yo + e] = (float) ((y[yo + e] + shrink * farNum[e]) / den);
            }
        }
        Mem.write(y, 0, out, (long) bh * seq * dv, seq * dv);
        Mem.write(s, 0, kv, (long) bh * dv * dFull, dv * d);
        Mem.write(zh, 0, z, (long) bh * dFull, d);
        long keep = Math.max(position, position + seq - cap);
        Ring.scatter(keys, (int) (keep - base), ringK, headK, cap, f, keep, position + seq);
        Ring.scatter(values, (int) (keep - base), ringV, headV, cap, dv, keep, position + seq);
    }

    @Override
    public void prefill(BasedAttentionFamily.Call<CpuBuffer> c) {
        apply(c);
    }

    @Override
    public void decode(BasedAttentionFamily.Call<CpuBuffer> c) {
        apply(c);
    }

    private void apply(BasedAttentionFamily.Call<CpuBuffer> c) {
        apply(c.dtype(), c.spec(), c.batch(), c.heads(), c.seq(), c.valueDim(), c.q().segment(), c.k().segment(),
                c.v().segment(), c.kv().state(c.dtype(), c.spec().featureMap(), c.valueDim()),
                c.z().state(c.dtype(), c.spec().featureMap(), 1), c.keys().segment(), c.values().segment(),
                c.position(), c.out().segment());
    }
}
