package dev.based4j.featuremap;

/**
 * φ(x) = x. The dot product can be zero or negative, so attention specs need {@code allowSignedFeatures}.
 *
 * @param inputDim d
 */
public record Identity(int inputDim) implements FeatureMap {
    /** Validates {@code inputDim}. */
    public Identity {
        FeatureMap.checkInputDim("identity", inputDim);
    }

    @Override
    public Kind kind() {
        return Kind.IDENTITY;
    }

    @Override
    public int outputDim() {
        return inputDim;
    }

    @Override
    public boolean signedDotProduct() {
        return true;
    }

    @Override
    public void apply(double[] x, int xOffset, int position, int length, double[] out, int outOffset) {
        System.arraycopy(x, xOffset, out, outOffset, inputDim);
    }
}
