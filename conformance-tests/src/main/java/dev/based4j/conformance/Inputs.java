package dev.based4j.conformance;

import java.util.SplittableRandom;

/**
 * Seeded random inputs and host-side reshuffles. Every value is rounded to F32 first, so F32 and F64 backends
 * receive the identical input and the float64 reference sees exactly that input.
 */
final class Inputs {
    private final SplittableRandom random;

    Inputs(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** N(0, std²) values. */
    double[] gaussian(int n, double std) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * std);
        }
        return x;
    }

    /** U(lo, hi) values. */
    double[] uniform(int n, double lo, double hi) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (lo + (hi - lo) * random.nextDouble());
        }
        return x;
    }

    int[] ids(int n, int vocab) {
        int[] x = new int[n];
        for (int i = 0; i < n; i++) {
            x[i] = random.nextInt(vocab);
        }
        return x;
    }

    long nextSeed() {
        return random.nextLong();
    }

    /** Tokens {@code [from, to)} of {@code x [rows, seq, d]}. */
    static double[] tokens(double[] x, int rows, int seq, int d, int from, int to) {
        int n = to - from;
        double[] out = new double[rows * n * d];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(x, (r * seq + from) * d, out, r * n * d, n * d);
        }
        return out;
    }

    /** Writes {@code part [rows, n, d]} into tokens {@code [from, from+n)} of {@code into [rows, seq, d]}. */
    static void place(double[] part, double[] into, int rows, int seq, int d, int from, int n) {
        for (int r = 0; r < rows; r++) {
            System.arraycopy(part, r * n * d, into, (r * seq + from) * d, n * d);
        }
    }
}
