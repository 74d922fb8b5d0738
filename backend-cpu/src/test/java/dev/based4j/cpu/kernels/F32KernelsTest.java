package dev.based4j.cpu.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both implementations of the inner loops against double arithmetic, on shapes that hit every path of each
 * (tiles, edges, vector remainders).
 */
class F32KernelsTest {
    static Stream<F32Kernels> implementations() {
        return Stream.of(new PlainF32Kernels(), new VectorF32Kernels());
    }

    @Test
    void selectionPicksTheVectorKernelsWhenTheModuleIsPresent() {
        // the build runs tests with --add-modules jdk.incubator.vector
        assertThat(ModuleLayer.boot().findModule(F32Kernels.VECTOR_MODULE)).isPresent();
        assertThat(F32Kernels.select(false)).isInstanceOf(VectorF32Kernels.class);
        assertThat(F32Kernels.select(true)).as("the setting forces the plain loops").isInstanceOf(PlainF32Kernels.class);
    }

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static Stream<Arguments> matmulCases() {
        int[][] shapes = {{1, 7, 5}, {3, 16, 9}, {4, 33, 8}, {70, 13, 130}, {5, 1, 64}, {9, 273, 64}, {4, 16, 300},
                {6, 40, 17}};
        return implementations().flatMap(k -> Stream.of(shapes).map(s -> Arguments.of(k, s[0], s[1], s[2])));
    }

    @ParameterizedTest(name = "{0} rows {1} depth {2} cols {3}")
    @MethodSource("matmulCases")
    void matmulTransposedAndMatmulAgreeWithDoubleProducts(F32Kernels kernels, int rows, int depth, int cols) {
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

    static Stream<Arguments> sizes(int... sizes) {
        return implementations().flatMap(k -> java.util.Arrays.stream(sizes).mapToObj(n -> Arguments.of(k, n)));
    }

    static Stream<Arguments> featureDims() {
        return sizes(1, 4, 16, 23);
    }

    @ParameterizedTest(name = "{0} f {1}")
    @MethodSource("featureDims")
    void taylorFeaturesReproduceOnePlusSPlusHalfSSquared(F32Kernels kernels, int f) {
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

    static Stream<Arguments> lengths() {
        return sizes(1, 5, 16, 130, 273);
    }

    @ParameterizedTest(name = "{0} n {1}")
    @MethodSource("lengths")
    void expShiftedReturnsTheSumOfTheExponentials(F32Kernels kernels, int n) {
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

    @ParameterizedTest(name = "{0} n {1}")
    @MethodSource("lengths")
    void dotAxpyAndMultiplyAddAgreeWithDoubleArithmetic(F32Kernels kernels, int n) {
        Random r = new Random(n);
        float[] x = random(r, n + 3);
        float[] y = random(r, n + 5);
        float[] z = random(r, n + 5);
        double dot = 0;
        for (int i = 0; i < n; i++) {
            dot += (double) x[3 + i] * y[5 + i];
        }
        assertThat((double) kernels.dot(x, 3, y, 5, n)).isCloseTo(dot, within(1e-5 * n));
        float[] ax = y.clone();
        kernels.axpy(0.5f, x, 3, ax, 5, n);
        float[] ma = z.clone();
        kernels.multiplyAdd(x, 3, y, 5, ma, 5, n);
        for (int i = 0; i < n; i++) {
            assertThat((double) ax[5 + i]).isCloseTo(y[5 + i] + 0.5 * x[3 + i], within(1e-6));
            assertThat((double) ma[5 + i]).isCloseTo(z[5 + i] + (double) x[3 + i] * y[5 + i], within(1e-6));
        }
        assertThat(ax[0]).as("untouched before the offset").isEqualTo(y[0]);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate((long) (n + 5) * Float.BYTES);
            java.lang.foreign.MemorySegment.copy(y, 0, seg, Mem.F32, 0, n + 5);
            assertThat((double) kernels.dot(x, 3, seg, 5, n)).as("dot with tensor memory")
                    .isCloseTo(dot, within(1e-5 * n));
        }
        assertThat((double) kernels.max(x, 3, n)).isEqualTo(maxOf(x, 3, n));
    }

    @ParameterizedTest(name = "{0} cols {1}")
    @MethodSource("lengths")
    void updateThenProjectUpdatesEveryRowThenReadsItOut(F32Kernels kernels, int cols) {
        Random r = new Random(cols);
        int rows = 5;
        float[] s = random(r, rows * cols);
        float[] u = random(r, rows);
        float[] w = random(r, cols);
        float[] x = random(r, cols);
        float[] out = new float[rows];
        float[] before = s.clone();
        kernels.updateThenProject(s, 0, rows, cols, u, 0, w, 0, x, 0, out, 0);
        for (int row = 0; row < rows; row++) {
            double projected = 0;
            for (int i = 0; i < cols; i++) {
                double updated = before[row * cols + i] + (double) u[row] * w[i];
                assertThat((double) s[row * cols + i]).isCloseTo(updated, within(1e-5));
                projected += x[i] * updated;
            }
            assertThat((double) out[row]).isCloseTo(projected, within(1e-5 * cols));
        }
    }

    @ParameterizedTest(name = "{0} cols {1}")
    @MethodSource("lengths")
    void updateThenProjectOnTensorMemoryMatchesTheArrayForm(F32Kernels kernels, int cols) {
        Random r = new Random(cols + 7);
        int rows = 6; // one block of four rows and two single rows
        int stride = cols + 3;
        float[] s = random(r, rows * cols);
        float[] u = random(r, rows);
        float[] w = random(r, cols);
        float[] x = random(r, cols);
        float[] expected = new float[rows];
        float[] got = new float[rows];
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate((long) (rows * stride + 5) * Float.BYTES);
            seg.fill((byte) 0x7f); // a pattern in the gaps between rows, which must stay untouched
            for (int row = 0; row < rows; row++) {
                java.lang.foreign.MemorySegment.copy(s, row * cols, seg, Mem.F32, (5L + (long) row * stride) * Float.BYTES,
                        cols);
            }
            float gap = seg.getAtIndex(Mem.F32, 4);
            kernels.updateThenProject(seg, 5, rows, cols, stride, u, 0, w, 0, x, 0, got, 0);
            kernels.updateThenProject(s, 0, rows, cols, u, 0, w, 0, x, 0, expected, 0);
            for (int row = 0; row < rows; row++) {
                for (int i = 0; i < cols; i++) {
                    assertThat(seg.getAtIndex(Mem.F32, 5 + (long) row * stride + i)).as("row %d element %d", row, i)
                            .isCloseTo(s[row * cols + i], within(1e-6f));
                }
                for (int i = cols; i < stride && row < rows - 1; i++) {
                    assertThat(Float.floatToRawIntBits(seg.getAtIndex(Mem.F32, 5 + (long) row * stride + i)))
                            .as("gap after row %d", row).isEqualTo(Float.floatToRawIntBits(gap));
                }
            }
            assertThat(Float.floatToRawIntBits(seg.getAtIndex(Mem.F32, 4))).as("untouched before the offset")
                    .isEqualTo(Float.floatToRawIntBits(gap));
        }
        for (int row = 0; row < rows; row++) {
            assertThat(got[row]).as("read-out %d", row)
                    .isCloseTo(expected[row], within(1e-5f * (1 + Math.abs(expected[row]))));
        }
    }

    private static double maxOf(float[] x, int offset, int n) {
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x[offset + i]);
        }
        return m;
    }

    @ParameterizedTest(name = "{0} n {1}")
    @MethodSource("lengths")
    void dotRowsAndAccumulateRowsReadTensorMemoryAsDoubleArithmeticDoes(F32Kernels kernels, int n) {
        Random r = new Random(n + 31);
        int rows = 7; // a block of four rows and three single rows
        float[] x = random(r, n + 2);
        float[] w = random(r, rows * n);
        float[] p = random(r, rows);
        float[] y = random(r, n);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment seg = arena.allocate((long) (rows * n + 3) * Float.BYTES);
            java.lang.foreign.MemorySegment.copy(w, 0, seg, Mem.F32, 3L * Float.BYTES, rows * n);
            float[] dots = new float[rows + 1];
            kernels.dotRows(x, 2, seg, 3, n, rows, n, dots, 1);
            float[] acc = y.clone();
            kernels.accumulateRows(p, 0, seg, 3, rows, n, acc, 0);
            for (int row = 0; row < rows; row++) {
                double expected = 0;
                double size = 0;
                for (int i = 0; i < n; i++) {
                    expected += (double) x[2 + i] * w[row * n + i];
                    size += Math.abs((double) x[2 + i] * w[row * n + i]);
                }
                assertThat((double) dots[1 + row]).as("row %d", row).isCloseTo(expected, within(1e-5 * (1 + size)));
            }
            for (int i = 0; i < n; i++) {
                double expected = y[i];
                double size = Math.abs(y[i]);
                for (int row = 0; row < rows; row++) {
                    expected += (double) p[row] * w[row * n + i];
                    size += Math.abs((double) p[row] * w[row * n + i]);
                }
                assertThat((double) acc[i]).as("column %d", i).isCloseTo(expected, within(1e-5 * (1 + size)));
            }
        }
    }

    @ParameterizedTest(name = "{0} n {1}")
    @MethodSource("lengths")
    void siluMatchesDoubleArithmetic(F32Kernels kernels, int n) {
        Random r = new Random(n + 57);
        float[] x = new float[n + 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 6);
        }
        float[] y = x.clone();
        kernels.silu(y, 2, n);
        assertThat(y[0]).isEqualTo(x[0]);
        assertThat(y[1]).isEqualTo(x[1]);
        assertThat(y[n + 2]).isEqualTo(x[n + 2]);
        for (int i = 2; i < n + 2; i++) {
            double expected = x[i] / (1 + Math.exp(-x[i]));
            assertThat((double) y[i]).as("element %d of %f", i, x[i])
                    .isCloseTo(expected, within(2e-6 * Math.max(1, Math.abs(expected))));
        }
    }
}
