package dev.based4j.opencl.kernels;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.opencl.runtime.ClMemory;
import dev.based4j.tensor.DType;

/**
 * Linear attention ({@code linear_attention.cl}): chunked prefill with one work-group per (batch, head), the
 * quadratic form for sequences that fit one chunk, and the recurrent decode step (a chunk of one token).
 */
public final class LinearAttentionKernels {
    private LinearAttentionKernels() {}

    static final String FAMILY = "linear_attention";
    /** Work-items per (batch, head) group. */
    private static final int GROUP = 64;

    /** The shapes of one call. */
    public record Dims(int batchHeads, int seq, int valueDim) {}

    /**
     * Prefill or decode: φ of q and k into scratch, then {@code la_chunked} with the chunk the spec asks for.
     * Updates {@code kv}/{@code z} in place.
     */
    public static void run(ClContext cl, MapWeights weights, LinearAttentionSpec spec, ClMemory q, ClMemory k,
            ClMemory v, ClMemory kv, ClMemory z, ClMemory out, Dims dims, DType dtype) {
        int chunk = chunkFor(cl, dtype, spec.algorithm(), spec.chunkSize(), dims.seq());
        run(cl, weights, spec.featureMap(), q, k, v, kv, z, out, null, dims, spec.eps(), chunk, 0, true, dtype);
    }

    /**
     * The general form, also used by the fused layer for its far part.
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
        try (ClBuffer phiq = cl.allocate(phiBytes); ClBuffer phik = cl.allocate(phiBytes)) {
            FeatureMapKernels.apply(cl, weights, map, q, phiq, rows, dims.seq(), dtype);
            FeatureMapKernels.apply(cl, weights, map, k, phik, rows, dims.seq(), dtype);
            long group = Math.min(GROUP, cl.maxWorkGroupSize(FAMILY, dtype, "la_chunked"));
            double taylorScale = map.kind() == FeatureMap.Kind.TAYLOR ? 1.0 / Math.sqrt(f) : 0.0;
            cl.launch(FAMILY, dtype, "la_chunked")
                    .mem(q)
                    .mem(k)
                    .mem(phiq)
                    .mem(phik)
                    .mem(v)
                    .mem(kv)
                    .mem(z)
                    .mem(out)
                    .mem(denOut)
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
}
