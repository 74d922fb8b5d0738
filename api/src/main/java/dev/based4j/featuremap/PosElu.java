package dev.based4j.featuremap;

/**
 * φ(x) = elu(x) + 1 (x + 1 for x &gt; 0, e^x otherwise), always positive.
 *
 * @param inputDim d
 */
public record PosElu(int inputDim) implements FeatureMap {
    /** Validates {@code inputDim}. */
    public PosElu {
        FeatureMap.checkInputDim("poselu", inputDim);
    }

    @Override
    public Kind kind() {
        return Kind.POSELU;
    }

    @Override
    public int outputDim() {
        return inputDim;
    }

    @Override
    public void apply(double[] x, int xOffset, int position, int length, double[] out, int outOffset) {
        for (int i = 0; i < inputDim; i++) {
            double v = x[xOffset + i];
            out[outOffset + i] = v > 0 ? v + 1.0 : Math.exp(v);
        }
    }
}
