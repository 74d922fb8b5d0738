package dev.based4j.opencl.kernels;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.opencl.runtime.ClMemory;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.tensor.DType;
import java.util.List;

/**
 * Linear attention ({@code linear_attention.cl}): chunked prefill with one work-group per (batch, head), the
 * quadratic form for sequences that fit one chunk, and the recurrent decode step (a chunk of one token).
 */
public final class LinearAttentionKernels implements LinearAttentionFamily<ClBuffer> {
    private final ClContext cl;
    private final MapWeights weights;

    /**
     * @param cl the context the kernels run in
     * @param weights the device copies of the maps' weights
     */
    public LinearAttentionKernels(ClContext cl, MapWeights weights) {
        this.cl = cl;
        this.weights = weights;
    }

    static final String FAMILY = "linear_attention";
    /** Work-items per (batch, head) group of the chunked kernel. */
    private static final int GROUP = 64;
    /** Work-items per (batch, head) group of the decode kernel. */
    private static final int DECODE_GROUP = 64;

    /** The shapes of one call. */
    public record Dims(int batchHeads, int seq, int valueDim) {}

    /** Prefill: φ of q and k into scratch, then {@code la_chunked} with the chunk the spec asks for. */
    public static void prefill(ClContext cl, MapWeights weights, LinearAttentionSpec spec, ClMemory q, ClMemory k,
            ClMemory v, ClMemory kv, ClMemory z, ClMemory out, Dims dims, DType dtype) {
        int chunk = chunkFor(cl, dtype, spec.algorithm(), spec.chunkSize(), dims.seq());
        run(cl, weights, spec.featureMap(), q, k, v, kv, z, out, null, dims, spec.eps(), chunk, 0, true, dtype);
    }

    /** Decode of one token per (batch, head): {@code la_decode}, one pass over the state, φ computed in place. */
    public static void decode(ClContext cl, MapWeights weights, LinearAttentionSpec spec, ClMemory q, ClMemory k,
            ClMemory v, ClMemory kv, ClMemory z, ClMemory out, Dims dims, DType dtype) {
        FeatureMap map = spec.featureMap();
        int e = map.outputDim();
        String variant = variant(dtype, dims.valueDim());
        long group = Sizes.floorPowerOfTwo(Math.min(DECODE_GROUP,
                cl.maxWorkGroupSize(FAMILY, variant, dtype, "la_decode")));
        if (2L * e * dtype.byteSize() > cl.localMemoryBytes() / 2) {
            // φ(q), φ(k) would not fit in local memory (very wide maps): the chunked kernel takes them from global
            run(cl, weights, map, q, k, v, kv, z, out, null, dims, spec.eps(), 1, 0, true, dtype);
            return;
        }
        double[] ab = FeatureMapKernels.constants(map, 1);
        List<ClBuffer> w = weights.of(map, dtype);
        cl.launch(FAMILY, variant, dtype, "la_decode")
                .mem(q)
                .mem(k)
                .mem(v)
                .mem(kv)
                .mem(z)
                .mem(out)
                .i(map.kind().ordinal())
                .i(map.inputDim())
                .i(e)
                .i(dims.valueDim())
                .real(spec.eps())
                .mem(w.isEmpty() ? null : w.get(0))
                .mem(w.size() < 2 ? null : w.get(1))
                .real(ab[0])
                .real(ab[1])
                .local(2L * e * dtype.byteSize())
                .local(group * dtype.byteSize())
                .run(group * dims.batchHeads(), group);
    }

    /**
     * The general chunked form, also used by the fused layer for its far part.
     *
     * @param denOut when {@code normalise} is false: receives the denominators {@code [batchHeads, seq]} (no eps)
     *     while {@code out} receives the numerators
     * @param firstKey keys (rows of {@code k}, {@code v}) before this index do not exist
     */
    static void run(ClContext cl, MapWeights weights, FeatureMap map, ClMemory q, ClMemory k, ClMemory v,
            ClMemory kv, ClMemory z, ClMemory out, ClMemory denOut, Dims dims, double eps, int chunk, int firstKey,
            boolean normalise, DType dtype) {
        int f = map.inputDim();
        int e = map.outputDim();
        long rows = (long) dims.batchHeads() * dims.seq();
        long phiBytes = rows * e * dtype.byteSize();
        long stateBytes = (long) dims.batchHeads() * e * dims.valueDim() * dtype.byteSize();
        String variant = variant(dtype, dims.valueDim());
        try (ClContext.Scratch phiq = cl.scratch(phiBytes); ClContext.Scratch phik = cl.scratch(phiBytes);
                ClContext.Scratch transposed = cl.scratch(stateBytes)) {
            FeatureMapKernels.apply(cl, weights, map, q, phiq, rows, dims.seq(), dtype);
            FeatureMapKernels.apply(cl, weights, map, k, phik, rows, dims.seq(), dtype);
            long group = Math.min(GROUP, cl.maxWorkGroupSize(FAMILY, variant, dtype, "la_chunked"));
            double taylorScale = map.kind() == FeatureMap.Kind.TAYLOR ? 1.0 / Math.sqrt(f) : 0.0;
            cl.launch(FAMILY, variant, dtype, "la_chunked")
                    .mem(q)
                    .mem(k)
                    .mem(phiq)
                    .mem(phik)
                    .mem(v)
                    .mem(kv)
                    .mem(z)
                    .mem(out)
                    .mem(denOut)
                    .mem(transposed)
                    .i(dims.seq())
                    .i(f)
                    .i(e)
                    .i(dims.valueDim())
                    .i(chunk)
                    .real(eps)
                    .real(taylorScale)
                    .i(firstKey)
                    .i(normalise ? 1 : 0)
                    .local((long) chunk * chunk * dtype.byteSize())
                    .local((long) chunk * dtype.byteSize())
                    .run(group * dims.batchHeads(), group);
        }
    }

    /** The vector width the kernels are built with: 8 floats or 4 doubles (256 bits) when dv allows. */
    static String variant(DType dtype, int valueDim) {
        int width = dtype == DType.F32 && valueDim % 8 == 0 ? 8 : valueDim % 4 == 0 ? 4 : 1;
        return "-DVW=" + width;
    }

    /**
     * The chunk length: the whole call when it fits (the quadratic form; AUTO and QUADRATIC), one token for
     * RECURRENT, else the spec's chunk size; always capped so that the {@code chunk²} score tile fits in half of
     * the device's local memory (the chunk length changes rounding only, never the result).
     */
    static int chunkFor(ClContext cl, DType dtype, PrefillAlgorithm algorithm, int requested, int seq) {
        long budget = cl.localMemoryBytes() / 2 / dtype.byteSize();
        int max = (int) Math.max(1, Math.floor((-1 + Math.sqrt(1 + 4.0 * budget)) / 2));
        int chunk = switch (algorithm) {
            case RECURRENT -> 1;
            case QUADRATIC -> seq;
            case AUTO, CHUNKED -> Math.min(seq, requested);
        };
        return Math.max(1, Math.min(Math.min(chunk, max), seq));
    }

    @Override
    public void prefill(LinearAttentionFamily.Call<ClBuffer> c) {
        prefill(cl, weights, c.spec(), c.q(), c.k(), c.v(), c.kv(), c.z(), c.out(), dims(c), c.dtype());
    }

    @Override
    public void decode(LinearAttentionFamily.Call<ClBuffer> c) {
        decode(cl, weights, c.spec(), c.q(), c.k(), c.v(), c.kv(), c.z(), c.out(), dims(c), c.dtype());
    }

    private static Dims dims(LinearAttentionFamily.Call<ClBuffer> c) {
        return new Dims(Math.multiplyExact(c.batch(), c.heads()), c.seq(), c.valueDim());
    }
}
