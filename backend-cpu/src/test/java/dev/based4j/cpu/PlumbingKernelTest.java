package dev.based4j.cpu;

import dev.based4j.Backend;

import static dev.based4j.cpu.Fixture.download;
import static dev.based4j.cpu.Fixture.relativeError;
import static dev.based4j.cpu.Fixture.upload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class PlumbingKernelTest {
    private static Backend backend;

    @BeforeAll
    static void start() {
        backend = Fixture.backend();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static void assertClose(double[] out, double[] ref, DType dtype, String what, long seed) {
        assertThat(Fixture.nonZero(ref)).as("reference of %s is not all zeros", what).isTrue();
        assertThat(relativeError(out, ref)).as("%s vs float64 reference, seed %d", what, seed)
                .isLessThanOrEqualTo(Fixture.tolerance(dtype));
    }

    @Nested
    class Linear {
        @ParameterizedTest(name = "{0}: in {1}, out {2}")
        @CsvSource({"F32,1024,96", "F32,100,37", "F32,7,5", "F64,100,37"})
        void aRowGivesTheSameBitsWhateverRowsAreComputedWithIt(DType dtype, int in, int outDim) {
            long seed = 977L * in + outDim;
            Random random = new Random(seed);
            int rows = 301;
            double[] x = Fixture.gaussian(random, rows * in, 1);
            double[] w = Fixture.gaussian(random, outDim * in, 1.0 / Math.sqrt(in));
            double[] b = Fixture.gaussian(random, outDim, 1);
            try (Tensor xt = upload(backend, x, Shape.of(rows, 1, in), dtype);
                    Tensor wt = upload(backend, w, Shape.of(outDim, in), dtype);
                    Tensor bt = upload(backend, b, Shape.of(outDim), dtype);
                    Tensor all = backend.linear(xt, wt, bt)) {
                double[] together = download(backend, all);
                for (int count : new int[] {1, 2, 3, 9, 17, 64}) {
                    int first = random.nextInt(rows - count + 1);
                    double[] some = java.util.Arrays.copyOfRange(x, first * in, (first + count) * in);
                    try (Tensor st = upload(backend, some, Shape.of(count, 1, in), dtype);
                            Tensor part = backend.linear(st, wt, bt)) {
                        assertThat(download(backend, part)).as("rows %d..%d computed %d at a time, seed %d", first,
                                first + count - 1, count, seed)
                                .containsExactly(java.util.Arrays.copyOfRange(together, first * outDim,
                                        (first + count) * outDim));
                    }
                }
            }
        }

        @ParameterizedTest(name = "{0} batch {1} seq {2} in {3} out {4} bias {5}")
        @CsvSource({"F32,1,1,7,5,false", "F32,1,1,300,700,true", "F32,2,150,96,200,true", "F32,1,600,33,17,false",
                "F32,3,5,1024,64,true", "F64,1,1,7,5,true", "F64,2,150,96,200,false", "F64,1,300,40,70,true"})
        void matchesTheReference(DType dtype, int batch, int seq, int in, int outDim, boolean withBias) {
            long seed = 31L * in + outDim;
            Random random = new Random(seed);
            int rows = batch * seq;
            double[] x = Fixture.gaussian(random, rows * in, 1);
            double[] w = Fixture.gaussian(random, outDim * in, 1.0 / Math.sqrt(in));
            double[] b = withBias ? Fixture.gaussian(random, outDim, 1) : null;
            try (Tensor xt = upload(backend, x, Shape.of(batch, seq, in), dtype);
                    Tensor wt = upload(backend, w, Shape.of(outDim, in), dtype);
                    Tensor bt = withBias ? upload(backend, b, Shape.of(outDim), dtype) : null;
                    Tensor out = backend.linear(xt, wt, bt)) {
                assertThat(out.shape()).isEqualTo(Shape.of(batch, seq, outDim));
                assertClose(download(backend, out), Reference.linear(x, rows, in, w, outDim, b), dtype, "linear", seed);
            }
        }
    }

    @Nested
    class Activations {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void rmsNormMatchesTheReference(DType dtype) {
            long seed = 2;
            Random random = new Random(seed);
            int rows = 70;
            int d = 300;
            double[] x = Fixture.gaussian(random, rows * d, 3);
            double[] w = Fixture.gaussian(random, d, 1);
            try (Tensor xt = upload(backend, x, Shape.of(2, 35, d), dtype);
                    Tensor wt = upload(backend, w, Shape.of(d), dtype); Tensor out = backend.rmsNorm(xt, wt, 1e-5)) {
                assertClose(download(backend, out), Reference.rmsNorm(x, rows, d, w, 1e-5), dtype, "rmsNorm", seed);
            }
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void siluAndGeluMatchTheReferenceFromMinus12To12(DType dtype) {
            int n = 40_000; // more than one block of the element-wise tasks
            double[] x = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) (-12 + 24.0 * i / (n - 1));
            }
            try (Tensor xt = upload(backend, x, Shape.of(n), dtype); Tensor silu = backend.silu(xt);
                    Tensor gelu = backend.gelu(xt)) {
                assertClose(download(backend, silu), Reference.silu(x), dtype, "silu", 0);
                assertClose(download(backend, gelu), Reference.gelu(x), dtype, "gelu", 0);
            }
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void addAndMultiplyMatchTheReference(DType dtype) {
            long seed = 3;
            Random random = new Random(seed);
            int n = 3 * 17 * 1000;
            double[] a = Fixture.gaussian(random, n, 1);
            double[] b = Fixture.gaussian(random, n, 1);
            double[] sum = new double[n];
            double[] product = new double[n];
            for (int i = 0; i < n; i++) {
                sum[i] = a[i] + b[i];
                product[i] = a[i] * b[i];
            }
            Shape s = Shape.of(3, 17, 1000);
            try (Tensor at = upload(backend, a, s, dtype); Tensor bt = upload(backend, b, s, dtype);
                    Tensor add = backend.add(at, bt); Tensor mul = backend.multiply(at, bt)) {
                assertClose(download(backend, add), sum, dtype, "add", seed);
                assertClose(download(backend, mul), product, dtype, "multiply", seed);
            }
        }
    }

    @Nested
    class Gathers {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void embeddingGathersRows(DType dtype) {
            long seed = 4;
            Random random = new Random(seed);
            int vocab = 50;
            int d = 12;
            double[] table = Fixture.gaussian(random, vocab * d, 1);
            int[] ids = {0, 49, 7, 7, 13, 1};
            try (Tensor tt = upload(backend, table, Shape.of(vocab, d), dtype);
                    Tensor out = backend.embedding(tt, ids, 2, 3)) {
                assertThat(download(backend, out)).containsExactly(Reference.embedding(table, d, ids));
            }
        }

        @ParameterizedTest(name = "{0} start {1} rotary dim {2}")
        @CsvSource({"F32,0,8", "F32,40000,6", "F32,5,2", "F64,0,8", "F64,40000,6"})
        void rotaryMatchesTheReference(DType dtype, long start, int rotaryDim) {
            long seed = start + rotaryDim;
            Random random = new Random(seed);
            int batch = 2;
            int heads = 3;
            int seq = 19;
            int d = 8;
            double[] x = Fixture.gaussian(random, batch * heads * seq * d, 1);
            try (Tensor xt = upload(backend, x, Shape.of(batch, heads, seq, d), dtype);
                    Tensor out = backend.rotary(xt, start, rotaryDim, 10000.0)) {
                assertClose(download(backend, out), Reference.rotary(x, batch * heads, seq, d, start, rotaryDim, 10000),
                        dtype, "rotary", seed);
            }
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void splitMergeAndSliceMoveTheRightElements(DType dtype) {
            long seed = 6;
            Random random = new Random(seed);
            int batch = 2;
            int seq = 5;
            int heads = 3;
            int d = 4;
            double[] x = Fixture.gaussian(random, batch * seq * heads * d, 1);
            try (Tensor xt = upload(backend, x, Shape.of(batch, seq, heads * d), dtype);
                    Tensor split = backend.splitHeads(xt, heads); Tensor merged = backend.mergeHeads(split);
                    Tensor slice = backend.slice(xt, 3, 10)) {
                assertThat(download(backend, split)).containsExactly(Reference.splitHeads(x, batch, seq, heads, d));
                assertThat(download(backend, merged)).containsExactly(x);
                assertThat(download(backend, slice)).containsExactly(Reference.slice(x, batch * seq, heads * d, 3, 7));
            }
        }
    }
}
