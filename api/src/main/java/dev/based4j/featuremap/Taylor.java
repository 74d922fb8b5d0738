package dev.based4j.featuremap;

/**
 * The second-order Taylor map of BASED: {@code [1, x/f^¼, (x⊗x)/(√2·√f)]} with the full, row-major outer
 * product, so {@code outputDim = 1 + f + f²} (273 for f = 16) and {@code φ(q)·φ(k) = 1 + s + s²/2} with
 * {@code s = q·k/√f}. This 273-dim layout is the canonical state layout ({@code based-math.md} a).
 *
 * @param inputDim f, the per-head feature dimension (16 in every released config)
 */
public record Taylor(int inputDim) implements FeatureMap {
    /** Validates {@code inputDim}: 1..256 (the state grows as f²). */
    public Taylor {
        if (inputDim < 1 || inputDim > 256) {
            throw new IllegalArgumentException("taylor.inputDim: expected 1..256, got " + inputDim);
        }
    }

    @Override
    public Kind kind() {
        return Kind.TAYLOR;
    }

    @Override
    public int outputDim() {
        return 1 + inputDim + inputDim * inputDim;
    }

    @Override
    public void apply(double[] x, int xOffset, int position, int length, double[] out, int outOffset) {
        int f = inputDim;
        double linear = 1.0 / Math.sqrt(Math.sqrt(f));
        double quadratic = 1.0 / (Math.sqrt(2.0) * Math.sqrt(f));
        out[outOffset] = 1.0;
        for (int i = 0; i < f; i++) {
            out[outOffset + 1 + i] = x[xOffset + i] * linear;
        }
        int base = outOffset + 1 + f;
        for (int i = 0; i < f; i++) {
            double xi = x[xOffset + i] * quadratic;
            for (int j = 0; j < f; j++) {
                out[base + i * f + j] = xi * x[xOffset + j];
            }
        }
    }
}
