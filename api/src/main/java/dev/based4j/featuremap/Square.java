package dev.based4j.featuremap;

/**
 * φ(x) = x ⊙ x, so φ(q)·φ(k) = Σ q_i² k_i² ≥ 0.
 *
 * @param inputDim d
 */
public record Square(int inputDim) implements FeatureMap {
    /** Validates {@code inputDim}. */
    public Square {
        FeatureMap.checkInputDim("square", inputDim);
    }

    @Override
    public Kind kind() {
        return Kind.SQUARE;
    }

    @Override
    public int outputDim() {
        return inputDim;
    }

    @Override
    public void apply(double[] x, int xOffset, int position, int length, double[] out, int outOffset) {
        for (int i = 0; i < inputDim; i++) {
            double v = x[xOffset + i];
            out[outOffset + i] = v * v;
        }
    }
}
