package dev.based4j.featuremap;

import java.util.Arrays;
import java.util.Random;

/**
 * zoology's learnable polynomial map: {@code φ(x) = ((P1 x)² + P2 (x²))/√2} with bias-free d×d matrices
 * P1, P2 (PyTorch {@code (out, in)} convention). Features can be negative, so attention specs need
 * {@code allowSignedFeatures}.
 *
 * @param inputDim d
 * @param p1 P1, row-major {@code d × d}; defensively copied
 * @param p2 P2, row-major {@code d × d}; defensively copied
 */
public record AllPoly(int inputDim, double[] p1, double[] p2) implements FeatureMap {
    /** Validates the dimensions and that both matrices have d² finite values. */
    public AllPoly {
        FeatureMap.checkInputDim("allpoly", inputDim);
        p1 = checkMatrix("allpoly.p1", p1, inputDim);
        p2 = checkMatrix("allpoly.p2", p2, inputDim);
    }

    private static double[] checkMatrix(String name, double[] m, int d) {
        if (m == null || m.length != d * d) {
            throw new IllegalArgumentException(name + ": expected " + d + "x" + d + " = " + d * d + " values, got "
                    + (m == null ? "null" : String.valueOf(m.length)));
        }
        double[] copy = m.clone();
        for (int i = 0; i < copy.length; i++) {
            if (!Double.isFinite(copy[i])) {
                throw new IllegalArgumentException(name + ": element " + i + " is " + copy[i] + ", expected finite");
            }
        }
        return copy;
    }

    /** Seeded matrices with PyTorch's default Linear init range, U(−1/√d, 1/√d). */
    public static AllPoly random(int inputDim, long seed) {
        FeatureMap.checkInputDim("allpoly", inputDim);
        Random random = new Random(seed);
        double bound = 1.0 / Math.sqrt(inputDim);
        double[] a = new double[inputDim * inputDim];
        double[] b = new double[inputDim * inputDim];
        for (int i = 0; i < a.length; i++) {
            a[i] = (random.nextDouble() * 2 - 1) * bound;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (random.nextDouble() * 2 - 1) * bound;
        }
        return new AllPoly(inputDim, a, b);
    }

    /** @return a copy of P1 */
    @Override
    public double[] p1() {
        return p1.clone();
    }

    /** @return a copy of P2 */
    @Override
    public double[] p2() {
        return p2.clone();
    }

    @Override
    public Kind kind() {
        return Kind.ALLPOLY;
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
        int d = inputDim;
        double r2 = Math.sqrt(2.0);
        for (int o = 0; o < d; o++) {
            double a = 0;
            double b = 0;
            for (int i = 0; i < d; i++) {
                double xi = x[xOffset + i];
                a += p1[o * d + i] * xi;
                b += p2[o * d + i] * xi * xi;
            }
            out[outOffset + o] = (a * a + b) / r2;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AllPoly p && p.inputDim == inputDim && Arrays.equals(p.p1, p1) && Arrays.equals(p.p2, p2);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * inputDim + Arrays.hashCode(p1)) + Arrays.hashCode(p2);
    }

    @Override
    public String toString() {
        return "AllPoly[inputDim=" + inputDim + "]";
    }
}
