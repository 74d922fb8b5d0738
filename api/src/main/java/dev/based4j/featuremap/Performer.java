package dev.based4j.featuremap;

import java.util.Arrays;
import java.util.Random;

/**
 * Performer (FAVOR+ positive features) as zoology implements it: with {@code x̃ = x/d^¼},
 * {@code φ(x) = exp(W x̃ − ½|x̃|²)/√M} for the fixed projection {@code W} of shape {@code M × d}.
 *
 * <p>A given matrix is used as is (checkpoints and golden files reproduce exactly);
 * {@link #orthogonal(int, int, long)} makes a seeded orthogonal one of our own, built like zoology's.
 *
 * @param inputDim d
 * @param features M, the output dimension
 * @param projection W, row-major {@code M × d}; defensively copied
 */
public record Performer(int inputDim, int features, double[] projection) implements FeatureMap {
    /** Validates the dimensions and that the matrix has M·d finite values. */
    public Performer {
        FeatureMap.checkInputDim("performer", inputDim);
        if (features < 1 || features > 65536) {
            throw new IllegalArgumentException("performer.features: expected 1..65536, got " + features);
        }
        if (projection == null || projection.length != (long) features * inputDim) {
            throw new IllegalArgumentException("performer.projection: expected " + features + "x" + inputDim + " = "
                    + (long) features * inputDim + " values, got "
                    + (projection == null ? "null" : String.valueOf(projection.length)));
        }
        projection = projection.clone();
        for (int i = 0; i < projection.length; i++) {
            if (!Double.isFinite(projection[i])) {
                throw new IllegalArgumentException("performer.projection: element " + i + " is " + projection[i]
                        + ", expected a finite value");
            }
        }
    }

    /**
     * A seeded projection built like zoology's {@code orthogonal_gaussian}: stacked transposed Q factors of
     * d×d Gaussian matrices (the last block cut to {@code M mod d} rows), divided by √(M/d).
     */
    public static Performer orthogonal(int inputDim, int features, long seed) {
        FeatureMap.checkInputDim("performer", inputDim);
        if (features < 1 || features > 65536) {
            throw new IllegalArgumentException("performer.features: expected 1..65536, got " + features);
        }
        Random random = new Random(seed);
        int d = inputDim;
        double[] w = new double[features * d];
        int row = 0;
        while (row < features) {
            double[][] q = gaussianOrthonormalRows(d, random);
            for (int r = 0; r < d && row < features; r++, row++) {
                System.arraycopy(q[r], 0, w, row * d, d);
            }
        }
        double scale = 1.0 / Math.sqrt((double) features / d);
        for (int i = 0; i < w.length; i++) {
            w[i] *= scale;
        }
        return new Performer(d, features, w);
    }

    private static double[][] gaussianOrthonormalRows(int d, Random random) {
        double[][] rows = new double[d][d];
        for (int r = 0; r < d; r++) {
            for (int c = 0; c < d; c++) {
                rows[r][c] = random.nextGaussian();
            }
            // modified Gram-Schmidt: rows of Qᵀ are orthonormal, as the QR factor's columns are
            for (int p = 0; p < r; p++) {
                double dot = 0;
                for (int c = 0; c < d; c++) {
                    dot += rows[r][c] * rows[p][c];
                }
                for (int c = 0; c < d; c++) {
                    rows[r][c] -= dot * rows[p][c];
                }
            }
            double norm = 0;
            for (int c = 0; c < d; c++) {
                norm += rows[r][c] * rows[r][c];
            }
            norm = Math.sqrt(norm);
            for (int c = 0; c < d; c++) {
                rows[r][c] /= norm;
            }
        }
        return rows;
    }

    /** @return a copy of W, row-major {@code M × d} */
    @Override
    public double[] projection() {
        return projection.clone();
    }

    @Override
    public Kind kind() {
        return Kind.PERFORMER;
    }

    @Override
    public int outputDim() {
        return features;
    }

    @Override
    public void apply(double[] x, int xOffset, int position, int length, double[] out, int outOffset) {
        int d = inputDim;
        double s = 1.0 / Math.sqrt(Math.sqrt(d));
        double norm2 = 0;
        for (int i = 0; i < d; i++) {
            double v = x[xOffset + i] * s;
            norm2 += v * v;
        }
        double outScale = 1.0 / Math.sqrt(features);
        for (int r = 0; r < features; r++) {
            double dot = 0;
            for (int i = 0; i < d; i++) {
                dot += projection[r * d + i] * (x[xOffset + i] * s);
            }
            out[outOffset + r] = Math.exp(dot - 0.5 * norm2) * outScale;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Performer p && p.inputDim == inputDim && p.features == features
                && Arrays.equals(p.projection, projection);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * inputDim + features) + Arrays.hashCode(projection);
    }

    @Override
    public String toString() {
        return "Performer[inputDim=" + inputDim + ", features=" + features + "]";
    }
}
