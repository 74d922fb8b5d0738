package dev.based4j.opencl.kernels;

import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClMemory;
import dev.based4j.spi.SlidingWindowFamily;
import dev.based4j.tensor.DType;

/** Sliding-window softmax attention over a ring buffer or a growing KV cache ({@code sliding_window.cl}). */
public final class SlidingWindowKernels implements SlidingWindowFamily<ClBuffer> {
    private final ClContext cl;

    /** @param cl the context the kernels run in */
    public SlidingWindowKernels(ClContext cl) {
        this.cl = cl;
    }

    static final String FAMILY = "sliding_window";
    /** Queries per work-group (fewer when their accumulators would not fit in local memory). */
    private static final int QUERIES_PER_GROUP = 32;

    /** The shapes of one call. */
    public record Dims(int batchHeads, int seq, int keyDim, int valueDim, int capacity) {}

    /**
     * Attention of this call's queries over the ring (tokens before {@code position}) and this call's keys, then
     * the new tokens into the ring.
     *
     * @param lookback previous tokens each query sees; {@link Integer#MAX_VALUE} for unbounded
     */
    public static void run(ClContext cl, ClMemory q, ClMemory k, ClMemory v, ClMemory ringK, ClMemory ringV,
            ClMemory out, long position, Dims dims, long lookback, double scale, DType dtype) {
        attend(cl, q, k, v, ringK, ringV, out, null, null, 0.0, position, dims, lookback, scale, dtype);
        ringWrite(cl, k, v, ringK, ringV, position, dims, dtype);
    }

    /** {@code sw_attend}; with {@code farNum} non-null the fused layer's combination. */
    static void attend(ClContext cl, ClMemory q, ClMemory k, ClMemory v, ClMemory ringK, ClMemory ringV,
            ClMemory out, ClMemory farNum, ClMemory farDen, double eps, long position, Dims dims, long lookback,
            double scale, DType dtype) {
        long perQuery = (long) dims.valueDim() * dtype.byteSize();
        long fit = Math.max(1, cl.localMemoryBytes() / 2 / perQuery);
        String variant = variant(dtype);
        long group = Math.max(1, Math.min(Math.min(QUERIES_PER_GROUP, fit),
                cl.maxWorkGroupSize(FAMILY, variant, dtype, "sw_attend")));
        group = Math.min(group, Sizes.floorPowerOfTwo(Math.max(1, dims.seq())));
        cl.launch(FAMILY, variant, dtype, "sw_attend")
                .mem(q)
                .mem(k)
                .mem(v)
                .mem(ringK)
                .mem(ringV)
                .mem(out)
                .mem(farNum)
                .mem(farDen)
                .l(position)
                .i(dims.seq())
                .i(dims.keyDim())
                .i(dims.valueDim())
                .i(dims.capacity())
                .l(lookback)
                .real(scale)
                .i(farNum == null ? 0 : 1)
                .real(eps)
                .local(group * perQuery)
                .run(new long[] {Sizes.roundUp(dims.seq(), group), dims.batchHeads()}, new long[] {group, 1});
    }

    /** 256-bit vectors: 8 floats or 4 doubles (the kernels handle any head dimension, with a scalar tail). */
    static String variant(DType dtype) {
        return dtype == DType.F32 ? "-DVW=8" : "-DVW=4";
    }

    /** Stores the last {@code min(seq, capacity)} tokens of this call in their ring slots. */
    static void ringWrite(ClContext cl, ClMemory k, ClMemory v, ClMemory ringK, ClMemory ringV, long position,
            Dims dims, DType dtype) {
        int start = Math.max(0, dims.seq() - dims.capacity());
        int count = dims.seq() - start;
        cl.launch(FAMILY, dtype, "sw_ring_write")
                .mem(k)
                .mem(v)
                .mem(ringK)
                .mem(ringV)
                .l(position)
                .i(dims.seq())
                .i(dims.keyDim())
                .i(dims.valueDim())
                .i(dims.capacity())
                .i(start)
                .run(new long[] {count, dims.batchHeads()}, null);
    }

    @Override
    public void prefill(SlidingWindowFamily.Call<ClBuffer> c) {
        run(c);
    }

    @Override
    public void decode(SlidingWindowFamily.Call<ClBuffer> c) {
        run(c);
    }

    private void run(SlidingWindowFamily.Call<ClBuffer> c) {
        var dims = new Dims(Math.multiplyExact(c.batch(), c.heads()), c.seq(), c.keyDim(), c.valueDim(), c.capacity());
        run(cl, c.q(), c.k(), c.v(), c.keys(), c.values(), c.out(), c.position(), dims, c.spec().lookback(),
                c.spec().scaleFor(c.keyDim()), c.dtype());
    }
}
