package dev.based4j.featuremap;

/**
 * CosFormer: with {@code a = relu(x)} and {@code θ_t = π(t+1)/(2L)} for 0-based token t of a call of L tokens,
 * φ = {@code [a·sin θ_t, a·cos θ_t]}, so {@code outputDim = 2d}. The features depend on the length of the call,
 * so the map has a prefill form only: asking it to decode is an error.
 *
 * @param inputDim d
 */
public record CosFormer(int inputDim) implements FeatureMap {
    /** Validates {@code inputDim}. */
    public CosFormer {
        FeatureMap.checkInputDim("cosformer", inputDim);
    }

    @Override
    public Kind kind() {
        return Kind.COSFORMER;
    }

    @Override
    public int outputDim() {
        return 2 * inputDim;
    }

    @Override
    public boolean hasDecodeForm() {
        return false;
    }

    @Override
    public void apply(double[] x, int xOffset, int position, int length, double[] out, int outOffset) {
        double theta = Math.PI * (position + 1) / (2.0 * length);
        double s = Math.sin(theta);
        double c = Math.cos(theta);
        for (int i = 0; i < inputDim; i++) {
            double a = Math.max(x[xOffset + i], 0.0);
            out[outOffset + i] = a * s;
            out[outOffset + inputDim + i] = a * c;
        }
    }
}
