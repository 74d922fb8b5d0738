package dev.based4j.cpu.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Moves one head's tokens between a ring buffer in tensor memory (position {@code p} in slot
 * {@code p mod capacity}) and a heap array in position order, or reads them in place (decode). A range of
 * positions occupies at most two contiguous runs of slots, so each is at most two copies or two kernel calls.
 */
final class Ring {
    private Ring() {}

    /**
     * Copies positions {@code [from, to)} to rows {@code dstRow..} of {@code dst}.
     *
     * @param head element index of slot 0 of this head
     * @param width elements per token
     */
    static void gather(MemorySegment ring, long head, int capacity, int width, long from, long to, float[] dst,
            int dstRow) {
        int row = dstRow;
        for (long p = from; p < to; ) {
            int slot = (int) (p % capacity);
            int run = (int) Math.min(to - p, capacity - slot);
            Mem.read(ring, head + (long) slot * width, dst, row * width, run * width);
            p += run;
            row += run;
        }
    }

    /** Copies rows {@code srcRow..} of {@code src} to the slots of positions {@code [from, to)}. */
    static void scatter(float[] src, int srcRow, MemorySegment ring, long head, int capacity, int width, long from,
            long to) {
        int row = srcRow;
        for (long p = from; p < to; ) {
            int slot = (int) (p % capacity);
            int run = (int) Math.min(to - p, capacity - slot);
            Mem.write(src, row * width, ring, head + (long) slot * width, run * width);
            p += run;
            row += run;
        }
    }

    /**
     * {@code out[i] = q·key(from + i)} for positions {@code [from, to)}, the keys read where they lie (decode):
     * {@code width} floats per key, {@code q} at offset 0.
     */
    static void scores(F32Kernels kernels, float[] q, MemorySegment ring, long head, int capacity, int width,
            long from, long to, float[] out) {
        int at = 0;
        for (long p = from; p < to; ) {
            int slot = (int) (p % capacity);
            int run = (int) Math.min(to - p, capacity - slot);
            kernels.dotRows(q, 0, ring, head + (long) slot * width, width, run, width, out, at);
            at += run;
            p += run;
        }
    }

    /** {@code y += Σ_i weights[i]·value(from + i)} over positions {@code [from, to)}, the values read where they lie. */
    static void weightedSum(F32Kernels kernels, float[] weights, MemorySegment ring, long head, int capacity,
            int width, long from, long to, float[] y) {
        int at = 0;
        for (long p = from; p < to; ) {
            int slot = (int) (p % capacity);
            int run = (int) Math.min(to - p, capacity - slot);
            kernels.accumulateRows(weights, at, ring, head + (long) slot * width, run, width, y, 0);
            at += run;
            p += run;
        }
    }
}
