package dev.based4j.opencl.kernels;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.opencl.runtime.ClMemory;
import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.tensor.DType;
import java.util.List;

/**
 * The fused linear-plus-window layer ({@code based_attention.cl} with the linear-attention and sliding-window
 * kernels). Decode is one launch ({@link #decode}); prefill is four, in queue order:
 *
 * <ol>
 *   <li>{@code ba_far_stream}: row n = the token that leaves the window when query n arrives (ring or this call);
 *   <li>{@code la_chunked} over that stream, unnormalised: far numerators and denominators per query, and the
 *       far state advanced past every token that left the window;
 *   <li>{@code sw_attend} in combine mode: exact softmax over the window plus the far terms, one normaliser;
 *   <li>{@code sw_ring_write}: the new tokens into the ring.
 * </ol>
 */
public final class BasedAttentionKernels implements BasedAttentionFamily<ClBuffer> {
    private final ClContext cl;
    private final MapWeights weights;

    /**
     * @param cl the context the kernels run in
     * @param weights the device copies of the maps' weights
     */
    public BasedAttentionKernels(ClContext cl, MapWeights weights) {
        this.cl = cl;
        this.weights = weights;
    }

    static final String FAMILY = "based_attention";

    /** The shapes of one call. */
    public record Dims(int batchHeads, int seq, int featureDim, int valueDim) {}

    /** Work-items per (batch, head) group of the decode kernel. */
    private static final int DECODE_GROUP = 64;

    /**
     * One token per (batch, head) in one launch ({@code ba_decode}); falls back to {@link #run} when φ of two
     * vectors does not fit in local memory.
     */
    public static void decode(ClContext cl, MapWeights weights, BasedAttentionSpec spec, ClMemory q, ClMemory k,
            ClMemory v, ClMemory kv, ClMemory z, ClMemory ringK, ClMemory ringV, ClMemory out, long position,
            Dims dims, DType dtype) {
        FeatureMap map = spec.featureMap();
        int e = map.outputDim();
        int size = dtype.byteSize();
        if ((2L * e + dims.valueDim()) * size > cl.localMemoryBytes() / 2) {
            run(cl, weights, spec, q, k, v, kv, z, ringK, ringV, out, position, dims, dtype);
            return;
        }
        String variant = LinearAttentionKernels.variant(dtype, dims.valueDim());
        long group = Sizes.floorPowerOfTwo(Math.min(DECODE_GROUP,
                cl.maxWorkGroupSize(FAMILY, variant, dtype, "ba_decode")));
        long cap = spec.lookback() + 1L;
        boolean sharedScores = (2L * e + dims.valueDim() + cap) * size <= cl.localMemoryBytes() / 2;
        double[] ab = FeatureMapKernels.constants(map, 1);
        List<ClBuffer> w = weights.of(map, dtype);
        cl.launch(FAMILY, variant, dtype, "ba_decode")
                .mem(q)
                .mem(k)
                .mem(v)
                .mem(kv)
                .mem(z)
                .mem(ringK)
                .mem(ringV)
                .mem(out)
                .l(position)
                .i(map.inputDim())
                .i(e)
                .i(dims.valueDim())
                .i(spec.lookback() + 1)
                .real(spec.effectiveScale())
                .real(spec.eps())
                .i(map.kind().ordinal())
                .mem(w.isEmpty() ? null : w.get(0))
                .mem(w.size() < 2 ? null : w.get(1))
                .real(ab[0])
                .real(ab[1])
                .local(2L * e * size)
                .local(group * size)
                .local((long) dims.valueDim() * size)
                .i(sharedScores ? 1 : 0)
                .local((sharedScores ? cap : 1) * size)
                .run(group * dims.batchHeads(), group);
    }

    /** Prefill or decode, continuing from the state at {@code position}; updates far state and ring in place. */
    public static void run(ClContext cl, MapWeights weights, BasedAttentionSpec spec, ClMemory q, ClMemory k,
            ClMemory v, ClMemory kv, ClMemory z, ClMemory ringK, ClMemory ringV, ClMemory out, long position,
            Dims dims, DType dtype) {
        int cap = spec.lookback() + 1;
        int inRing = (int) Math.min(position, cap);
        int firstKey = Math.max(0, cap - inRing);
        int bh = dims.batchHeads();
        int seq = dims.seq();
        long rows = (long) bh * seq;
        int size = dtype.byteSize();
        try (ClContext.Scratch farK = cl.scratch(rows * dims.featureDim() * size);
                ClContext.Scratch farV = cl.scratch(rows * dims.valueDim() * size);
                ClContext.Scratch farNum = cl.scratch(rows * dims.valueDim() * size);
                ClContext.Scratch farDen = cl.scratch(rows * size)) {
            cl.launch(FAMILY, dtype, "ba_far_stream")
                    .mem(k)
                    .mem(v)
                    .mem(ringK)
                    .mem(ringV)
                    .mem(farK)
                    .mem(farV)
                    .l(position)
                    .i(seq)
                    .i(dims.featureDim())
                    .i(dims.valueDim())
                    .i(cap)
                    .i(inRing)
                    .run(new long[] {seq, bh}, null);
            int chunk = LinearAttentionKernels.chunkFor(cl, dtype, PrefillAlgorithm.AUTO,
                    LinearAttentionSpec.DEFAULT_CHUNK, seq);
            LinearAttentionKernels.run(cl, weights, spec.featureMap(), q, farK, farV, kv, z, farNum, farDen,
                    new LinearAttentionKernels.Dims(bh, seq, dims.valueDim()), 0.0, chunk, firstKey, false, dtype);
            var window = new SlidingWindowKernels.Dims(bh, seq, dims.featureDim(), dims.valueDim(), cap);
            SlidingWindowKernels.attend(cl, q, k, v, ringK, ringV, out, farNum, farDen, spec.eps(), position, window,
                    spec.lookback(), spec.effectiveScale(), dtype);
            SlidingWindowKernels.ringWrite(cl, k, v, ringK, ringV, position, window, dtype);
        }
    }

    @Override
    public void prefill(BasedAttentionFamily.Call<ClBuffer> c) {
        run(cl, weights, c.spec(), c.q(), c.k(), c.v(), c.kv(), c.z(), c.keys(), c.values(), c.out(), c.position(),
                dims(c), c.dtype());
    }

    @Override
    public void decode(BasedAttentionFamily.Call<ClBuffer> c) {
        decode(cl, weights, c.spec(), c.q(), c.k(), c.v(), c.kv(), c.z(), c.keys(), c.values(), c.out(), c.position(),
                dims(c), c.dtype());
    }

    private static Dims dims(BasedAttentionFamily.Call<ClBuffer> c) {
        return new Dims(Math.multiplyExact(c.batch(), c.heads()), c.seq(), c.keyDim(), c.valueDim());
    }
}
