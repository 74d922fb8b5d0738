package dev.based4j.cpu.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The inner loops against plain double arithmetic, on shapes that hit both paths and the remainders. */
class PlainF32KernelsTest {
    private final F32Kernels kernels = new PlainF32Kernels();

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    @ParameterizedTest(name = "rows {0} depth {1} cols {2}")
    @CsvSource({"1,7,5", "3,16,9", "4,33,8", "70,13,130", "5,1,64"})
    void matmulTransposedAndMatmulAgreeWithDoubleProducts(int rows, int depth, int cols) {
        long seed = rows * 1000L + depth * 10L + cols;
        Random r = new Random(seed);
        float[] a = random(r, rows * depth);
        float[] b = random(r, cols * depth); // [cols, depth] for a·bᵀ
        float[] c = random(r, rows * cols);
        float[] bt = new float[depth * cols];
        for (int j = 0; j < cols; j++) {
            for (int i = 0; i < depth; i++) {
                bt[i * cols + j] = b[j * depth + i];
            }
        }
        float[] viaTransposed = c.clone();
        float[] viaPlain = c.clone();
        kernels.matmulTransposed(a, 0, depth, b, 0, depth, viaTransposed, 0, cols, rows, depth, cols, true);
        kernels.matmul(a, 0, depth, bt, 0, cols, viaPlain, 0, cols, rows, depth, cols, true);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double expected = c[i * cols + j];
                for (int k = 0; k < depth; k++) {
                    expected += (double) a[i * depth + k] * b[j * depth + k];
                }
                assertThat((double) viaTransposed[i * cols + j]).as("a·bᵀ[%d,%d], seed %d", i, j, seed)
                        .isCloseTo(expected, within(1e-5 * (1 + depth)));
                assertThat((double) viaPlain[i * cols + j]).as("a·b[%d,%d], seed %d", i, j, seed)
                        .isCloseTo(expected, within(1e-5 * (1 + depth)));
            }
        }
    }

    @ParameterizedTest(name = "f {0}")
    @CsvSource({"1", "4", "16"})
    void taylorFeaturesReproduceOnePlusSPlusHalfSSquared(int f) {
        Random r = new Random(f);
        float[] q = random(r, f);
        float[] k = random(r, f);
        int d = 1 + f + f * f;
        float[] pq = new float[d];
        float[] pk = new float[d];
        float ls = (float) (1 / Math.sqrt(Math.sqrt(f)));
        float qs = (float) (1 / (Math.sqrt(2) * Math.sqrt(f)));
        kernels.taylor(q, 0, f, ls, qs, pq, 0);
        kernels.taylor(k, 0, f, ls, qs, pk, 0);
        double s = 0;
        for (int i = 0; i < f; i++) {
            s += (double) q[i] * k[i];
        }
        s /= Math.sqrt(f);
        assertThat((double) kernels.dot(pq, 0, pk, 0, d)).isCloseTo(1 + s + s * s / 2, within(1e-5));
    }

    @ParameterizedTest(name = "n {0}")
    @CsvSource({"1", "5", "130"})
    void expShiftedReturnsTheSumOfTheExponentials(int n) {
        Random r = new Random(n);
        float[] x = random(r, n);
        float[] original = x.clone();
        float max = kernels.max(x, 0, n);
        float sum = kernels.expShifted(x, 0, n, max);
        double expected = 0;
        for (int i = 0; i < n; i++) {
            double e = Math.exp((double) original[i] - max);
            expected += e;
            assertThat((double) x[i]).isCloseTo(e, within(1e-6));
        }
        assertThat((double) sum).isCloseTo(expected, within(1e-5 * n));
    }
}
