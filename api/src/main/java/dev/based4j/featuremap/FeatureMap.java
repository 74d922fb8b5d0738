package dev.based4j.featuremap;

/**
 * A feature map φ: R^inputDim → R^outputDim applied to each query and key vector of one head.
 *
 * <p>{@link #apply} is the float64 reference. Only {@link CosFormer} depends on the token's position and the
 * length of the call; the other maps ignore those two arguments.
 */
public sealed interface FeatureMap permits Taylor, Identity, Relu, PosElu, Square, CosFormer, Performer, AllPoly {

    /** The closed set of map kinds, for capability declarations and command-line names. */
    enum Kind {
        TAYLOR, IDENTITY, RELU, POSELU, SQUARE, COSFORMER, PERFORMER, ALLPOLY;

        /** @return the lower-case name ({@code taylor}, {@code poselu}, ...) */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** @return which map this is */
    Kind kind();

    /** @return the dimension of each input vector (the per-head q/k dimension) */
    int inputDim();

    /** @return the dimension of φ(x) */
    int outputDim();

    /**
     * @return whether φ(q)·φ(k) can be zero or negative (Identity, AllPoly), so the linear-attention normaliser
     *     can vanish; such maps need {@code allowSignedFeatures} in the attention spec
     */
    default boolean signedDotProduct() {
        return false;
    }

    /** @return whether the map has a decode form (CosFormer's features depend on the call's length: it has not) */
    default boolean hasDecodeForm() {
        return true;
    }

    /**
     * Float64 reference: writes φ(x) for one vector.
     *
     * @param x input, {@link #inputDim()} values from {@code xOffset}
     * @param position 0-based index of the token within the call (CosFormer only)
     * @param length number of tokens in the call (CosFormer only)
     * @param out receives {@link #outputDim()} values from {@code outOffset}
     */
    void apply(double[] x, int xOffset, int position, int length, double[] out, int outOffset);

    /** Convenience form of {@link #apply} for one vector at position 0 of a one-token call. */
    default double[] apply(double[] x) {
        if (x == null || x.length != inputDim()) {
            throw new IllegalArgumentException("x: expected " + inputDim() + " values, got "
                    + (x == null ? "null" : x.length));
        }
        double[] out = new double[outputDim()];
        apply(x, 0, 0, 1, out, 0);
        return out;
    }

    /** Validation shared by the records. */
    static int checkInputDim(String map, int inputDim) {
        if (inputDim < 1 || inputDim > 4096) {
            throw new IllegalArgumentException(map + ".inputDim: expected 1..4096, got " + inputDim);
        }
        return inputDim;
    }
}
