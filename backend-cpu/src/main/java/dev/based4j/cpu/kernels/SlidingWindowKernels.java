package dev.based4j.cpu.kernels;

import dev.based4j.spi.SlidingWindowFamily;
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
public final class SlidingWindowKernels implements SlidingWindowFamily<CpuBuffer> {
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
        } else if (seq == 1 && (spec.isUnbounded() || capacity > spec.lookback() || position < capacity)) {
            // the slot the token goes to holds no key it sees, so it is written first and read with the others
            pool.forEachInRanges(batch * heads, work, bh -> decode32(spec, bh, keyDim, valueDim, q, k, v, ringK,
                    ringV, capacity, position, out));
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

    /** @return the row in the heap key array of the first key the query at position {@code p} sees */
    private static int first(long p, long lookback, long base) {
        return (int) (Math.max(0, p - lookback) - base);
    }

    /**
     * One decode step of one head on the ring where it lies: the token's key and value go to their slot, then the
     * query is scored against the keys it sees (at most two runs of slots), and the softmax weights sum the values
     * in place. Nothing is gathered: a step of full attention over a long cache reads the cache once.
     */
    private void decode32(SlidingWindowSpec spec, int bh, int dk, int dv, MemorySegment q, MemorySegment k,
            MemorySegment v, MemorySegment ringK, MemorySegment ringV, int cap, long position, MemorySegment out) {
        long headK = (long) bh * cap * dk;
        long headV = (long) bh * cap * dv;
        int slot = (int) (position % cap);
        MemorySegment.copy(k, Mem.F32, (long) bh * dk * Float.BYTES, ringK, Mem.F32, (headK + (long) slot * dk)
                * Float.BYTES, dk);
        MemorySegment.copy(v, Mem.F32, (long) bh * dv * Float.BYTES, ringV, Mem.F32, (headV + (long) slot * dv)
                * Float.BYTES, dv);
        long first = Math.max(0, position - spec.lookback());
        int count = (int) (position - first + 1);
        float[] qh = Scratch.floats(2, dk);
        float[] scores = Scratch.floats(4, count);
        float[] y = Scratch.floats(3, dv);
        Mem.read(q, (long) bh * dk, qh, 0, dk);
        Ring.scores(kernels, qh, ringK, headK, cap, dk, first, position + 1, scores);
        float scale = (float) spec.scaleFor(dk);
        for (int i = 0; i < count; i++) {
            scores[i] *= scale;
        }
        float sum = kernels.expShifted(scores, 0, count, kernels.max(scores, 0, count));
        java.util.Arrays.fill(y, 0, dv, 0f);
        Ring.weightedSum(kernels, scores, ringV, headV, cap, dv, first, position + 1, y);
        float inverse = 1f / sum;
        for (int c = 0; c < dv; c++) {
            y[c] *= inverse;
        }
        Mem.write(y, 0, out, (long) bh * dv, dv);
    }

    /**
     * {@code dst[i·ldd + t] = src[t·n + i]} for {@code t < rows}, {@code i < n}: in tiles of 16 × 16, so that the
     * strided side of the copy stays in the L1 cache.
     */
    static void transpose(float[] src, int rows, int n, float[] dst, int ldd) {
        for (int t0 = 0; t0 < rows; t0 += 16) {
            int t1 = Math.min(rows, t0 + 16);
            for (int i0 = 0; i0 < n; i0 += 16) {
                int i1 = Math.min(n, i0 + 16);
                for (int t = t0; t < t1; t++) {
                    for (int i = i0; i < i1; i++) {
                        dst[i * ldd + t] = src[t * n + i];
                    }
                }
            }
        }
    }

    /** Queries per block of the prefill: the band of keys a block sees is {@code BLOCK + lookback} wide. */
    static final int BLOCK = 16;

    /**
     * One head: the keys and values a query may see (the ring's last {@code min(position, lookback)} tokens,
     * then this call's) are laid out in position order on the heap, the keys transposed once ({@code dk} rows of
     * every token), so every query's window is one contiguous range of columns; blocks of {@link #BLOCK} queries go
     * through register-tiled products against the band of keys the block sees (at lookback 64, 81 % of it in the
     * window), softmax with its maximum subtracted. The queries are scaled once, up front.
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
        long headK = (long) bh * cap * dk;
        long headV = (long) bh * cap * dv;
        Ring.gather(ringK, headK, cap, dk, base, position, keys, 0);
        Ring.gather(ringV, headV, cap, dv, base, position, values, 0);
        Mem.read(k, (long) bh * seq * dk, keys, old * dk, seq * dk);
        Mem.read(v, (long) bh * seq * dv, values, old * dv, seq * dv);
        Mem.read(q, (long) bh * seq * dk, qh, 0, seq * dk);
        kernels.scale((float) spec.scaleFor(dk), qh, 0, qh, 0, seq * dk);
        // keys transposed, rows padded so that consecutive rows do not fall in the same cache sets (a stride of a
        // multiple of 4 KiB would make the dk rows a tile reads evict one another)
        int ldk = (tokens + 15) / 16 * 16 + 16;
        float[] keysT = Scratch.floats(5, dk * ldk);
        transpose(keys, tokens, dk, keysT, ldk);
        int block = (int) Math.max(1, Math.min(BLOCK, lookback + 1));
        float[] scores = Scratch.floats(4, block * (int) Math.min(block + lookback, tokens));
        float[] inverse = new float[block];
        for (int n0 = 0; n0 < seq; n0 += block) {
            int rows = Math.min(block, seq - n0);
            int lo = first(position + n0, lookback, base);
            int width = old + n0 + rows - lo;
            kernels.matmul(qh, n0 * dk, dk, keysT, lo, ldk, scores, 0, width, rows, dk, width, false);
            for (int i = 0; i < rows; i++) {
                int o = i * width;
                int from = first(position + n0 + i, lookback, base) - lo;
                int to = old + n0 + i - lo + 1;
                float sum = kernels.expShifted(scores, o + from, to - from, kernels.max(scores, o + from, to - from));
                java.util.Arrays.fill(scores, o, o + from, 0f);
                java.util.Arrays.fill(scores, o + to, o + width, 0f);
                inverse[i] = 1f / sum;
            }
            kernels.matmul(scores, 0, width, values, lo * dv, dv, y, n0 * dv, dv, rows, width, dv, false);
            for (int i = 0; i < rows; i++) {
                kernels.scale(inverse[i], y, (n0 + i) * dv, y, (n0 + i) * dv, dv);
            }
        }
        Mem.write(y, 0, out, (long) bh * seq * dv, seq * dv);
        long keep = Math.max(position, position + seq - cap);
        Ring.scatter(keys, (int) (keep - base), ringK, headK, cap, dk, keep, position + seq);
        Ring.scatter(values, (int) (keep - base), ringV, headV, cap, dv, keep, position + seq);
    }

    @Override
    public void prefill(SlidingWindowFamily.Call<CpuBuffer> c) {
        apply(c);
    }

    @Override
    public void decode(SlidingWindowFamily.Call<CpuBuffer> c) {
        apply(c);
    }

    private void apply(SlidingWindowFamily.Call<CpuBuffer> c) {
        apply(c.dtype(), c.spec(), c.batch(), c.heads(), c.seq(), c.keyDim(), c.valueDim(), c.q().segment(),
                c.k().segment(), c.v().segment(), c.keys().segment(), c.values().segment(), c.capacity(),
                c.position(), c.out().segment());
    }
}
