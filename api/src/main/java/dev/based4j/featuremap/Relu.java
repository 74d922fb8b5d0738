package dev.based4j.featuremap;

/**
 * φ(x) = max(x, 0), raised to at least {@code eps} so that no feature is exactly 0 (zoology's ReLU map).
 *
 * @param inputDim d
 * @param eps floor of every feature, zoology uses 1e-12
 */
public record Relu(int inputDim, double eps) implements FeatureMap {
    /** The floor zoology uses. */
    public static final double DEFAULT_EPS = 1e-12;

    /** Validates both fields. */
    public Relu {
        FeatureMap.checkInputDim("relu", inputDim);
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("relu.eps: expected a finite value >= 0, got " + eps);
        }
    }

    /** ReLU with zoology's floor 1e-12. */
    public Relu(int inputDim) {
        this(inputDim, DEFAULT_EPS);
    }

    @Override
    public Kind kind() {
        return Kind.RELU;
    }

    @Override
    public int outputDim() {
        return inputDim;
    }

    @Override
    public void apply(double[] x, int xOffset, int position, int length, double[] out, int outOffset) {
        for (int i = 0; i < inputDim; i++) {
            out[outOffset + i] = Math.max(Math.max(x[xOffset + i], 0.0), eps);
        }
    }
}
