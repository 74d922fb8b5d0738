package dev.based4j.opencl.kernels;

import dev.based4j.featuremap.FeatureMap;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.opencl.runtime.ClMemory;
import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.tensor.DType;
import java.util.List;

/** The eight feature maps φ ({@code feature_map.cl}, device functions in {@code common.cl}). */
public final class FeatureMapKernels implements FeatureMapFamily<ClBuffer> {
    private final ClContext cl;
    private final MapWeights weights;

    /**
     * @param cl the context the kernels run in
     * @param weights the device copies of the maps' weights
     */
    public FeatureMapKernels(ClContext cl, MapWeights weights) {
        this.cl = cl;
        this.weights = weights;
    }

    static final String FAMILY = "feature_map";

    /**
     * φ over the last dimension: {@code x [rows, d] → out [rows, φ.outputDim]}, rows = batch·heads·seq.
     *
     * @param seq tokens per call, for CosFormer's positions and length
     */
    public static void apply(ClContext cl, MapWeights weights, FeatureMap map, ClMemory x, ClMemory out, long rows,
            int seq, DType dtype) {
        int d = map.inputDim();
        int e = map.outputDim();
        double[] ab = constants(map, seq);
        if (map.kind() == FeatureMap.Kind.TAYLOR) {
            cl.launch(FAMILY, dtype, "feature_map_taylor").mem(x).mem(out).i(Math.toIntExact(rows)).i(d)
                    .real(ab[0]).real(ab[1]).run(Sizes.roundUp(rows, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
            return;
        }
        List<ClBuffer> w = weights.of(map, dtype);
        long n = rows * e;
        cl.launch(FAMILY, dtype, "feature_map")
                .i(map.kind().ordinal())
                .mem(x)
                .mem(out)
                .i(Math.toIntExact(rows))
                .i(seq)
                .i(d)
                .i(e)
                .mem(w.isEmpty() ? null : w.get(0))
                .mem(w.size() < 2 ? null : w.get(1))
                .real(ab[0])
                .real(ab[1])
                .run(Sizes.roundUp(n, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
    }

    /** The constants {@code a, b} of {@code phi_at} in {@code common.cl}, computed in double. */
    static double[] constants(FeatureMap map, int seq) {
        int d = map.inputDim();
        return switch (map.kind()) {
            case TAYLOR -> new double[] {1.0 / Math.sqrt(Math.sqrt(d)), 1.0 / (Math.sqrt(2.0) * Math.sqrt(d))};
            case RELU -> new double[] {((dev.based4j.featuremap.Relu) map).eps(), 0};
            case COSFORMER -> new double[] {Math.PI / (2.0 * seq), 0};
            case PERFORMER -> new double[] {1.0 / Math.sqrt(Math.sqrt(d)), 1.0 / Math.sqrt(map.outputDim())};
            case ALLPOLY -> new double[] {Math.sqrt(2.0), 0};
            case IDENTITY, POSELU, SQUARE -> new double[] {0, 0};
        };
    }

    @Override
    public void apply(FeatureMapFamily.Call<ClBuffer> c) {
        apply(cl, weights, c.map(), c.x(), c.out(), c.vectors(), c.seq(), c.dtype());
    }
}
