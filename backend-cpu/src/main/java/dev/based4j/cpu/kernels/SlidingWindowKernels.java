package dev.based4j.cpu.kernels;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * Causal softmax attention over a sliding window ({@code sdk-conventions.md}): the query at absolute position
 * {@code p} sees keys {@code max(0, p-lookback) .. p}, earlier ones from the ring buffer of the state
 * ({@code keys [batch, heads, capacity, dk]}, position {@code p} in slot {@code p mod capacity}), the rest from
 * this call; the ring then takes this call's tokens. Unbounded lookback with a growing cache is full causal
 * attention. One task per (batch, head).
 */
public final class SlidingWindowKernels {
    private final CpuPool pool;
    private final F32Kernels kernels;

    /** @param kernels the float32 inner loops */
    public SlidingWindowKernels(CpuPool pool, F32Kernels kernels) {
        this.pool = pool;
        this.kernels = kernels;
    }

    /**
     * Prefill or decode (the same computation) of {@code seq} tokens per head.
     *
     * @param capacity ring slots
     * @param position tokens seen before this call
     */
    public void apply(DType dtype, SlidingWindowSpec spec, int batch, int heads, int seq, int keyDim, int valueDim,
            MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment ringK, MemorySegment ringV,
            int capacity, long position, MemorySegment out) {
        long window = Math.min((long) spec.lookback() + 1, position + seq);
        long work = seq * window * (keyDim + valueDim);
        if (dtype == DType.F64) {
            pool.forEach(batch * heads, work, bh -> reference(spec, bh, seq, keyDim, valueDim, q, k, v, ringK, ringV,
                    capacity, position, out));
        } else {
            pool.forEach(batch * heads, work, bh -> float32(spec, bh, seq, keyDim, valueDim, q, k, v, ringK, ringV,
                    capacity, position, out));
        }
    }

    private static void reference(SlidingWindowSpec spec, int bh, int seq, int dk, int dv, MemorySegment q,
            MemorySegment k, MemorySegment v, MemorySegment ringK, MemorySegment ringV, int cap, long position,
            MemorySegment out) {
        double[] keys = Mem.readDoubles(ringK, (long) bh * cap * dk, cap * dk);
        double[] values = Mem.readDoubles(ringV, (long) bh * cap * dv, cap * dv);
        double[] y = Reference.slidingWindow(spec, Mem.readDoubles(q, (long) bh * seq * dk, seq * dk),
                Mem.readDoubles(k, (long) bh * seq * dk, seq * dk), Mem.readDoubles(v, (long) bh * seq * dv, seq * dv),
                1, 1, seq, dk, dv, keys, values, cap, position);
        Mem.write(y, 0, out, (long) bh * seq * dv, seq * dv);
        Mem.write(keys, 0, ringK, (long) bh * cap * dk, cap * dk);
        Mem.write(values, 0, ringV, (long) bh * cap * dv, cap * dv);
    }

    /**
     * One head: the keys and values a query may see (the ring's last {@code min(position, lookback)} tokens,
     * then this call's) are laid out in position order on the heap, so every query's window is one contiguous
     * range; softmax with its maximum subtracted.
     */
    private void float32(SlidingWindowSpec spec, int bh, int seq, int dk, int dv, MemorySegment q, MemorySegment k,
            MemorySegment v, MemorySegment ringK, MemorySegment ringV, int cap, long position, MemorySegment out) {
        long lookback = spec.lookback();
        int old = (int) Math.min(position, lookback);
        long base = position - old;
        int tokens = old + seq;
        float[] keys = Scratch.floats(0, tokens * dk);
        float[] values = Scratch.floats(1, tokens * dv);
        float[] qh = Scratch.floats(2, seq * dk);
        float[] y = Scratch.floats(3, seq * dv);
        float[] scores = Scratch.floats(4, (int) Math.min(lookback + 1, tokens));
        long headK = (long) bh * cap * dk;
        long headV = (long) bh * cap * dv;
        Ring.gather(ringK, headK, cap, dk, base, position, keys, 0);
        Ring.gather(ringV, headV, cap, dv, base, position, values, 0);
        Mem.read(k, (long) bh * seq * dk, keys, old * dk, seq * dk);
        Mem.read(v, (long) bh * seq * dv, values, old * dv, seq * dv);
        Mem.read(q, (long) bh * seq * dk, qh, 0, seq * dk);
        float scale = (float) spec.scaleFor(dk);
        for (int n = 0; n < seq; n++) {
            long p = position + n;
            int last = old + n;
            int first = (int) (Math.max(0, p - lookback) - base);
            int count = last - first + 1;
            kernels.matmulTransposed(qh, n * dk, dk, keys, first * dk, dk, scores, 0, count, 1, dk, count, false);
            for (int i = 0; i < count; i++) {
                scores[i] *= scale;
            }
            float sum = kernels.expShifted(scores, 0, count, kernels.max(scores, 0, count));
            kernels.matmul(scores, 0, count, values, first * dv, dv, y, n * dv, dv, 1, count, dv, false);
            float inv = 1f / sum;
            for (int c = 0; c < dv; c++) {
                y[n * dv + c] *= inv;
            }
        }
        Mem.write(y, 0, out, (long) bh * seq * dv, seq * dv);
        long keep = Math.max(position, position + seq - cap);
        Ring.scatter(keys, (int) (keep - base), ringK, headK, cap, dk, keep, position + seq);
        Ring.scatter(values, (int) (keep - base), ringV, headV, cap, dv, keep, position + seq);
    }
}
