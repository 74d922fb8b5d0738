package dev.based4j.opencl;

import static dev.based4j.opencl.OpenClTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.reference.Reference;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class PlumbingKernelsTest {
    private static void check(String what, DType dtype, long seed, double[] out, double[] ref) {
        assertThat(maxAbs(ref)).as(what + " reference is not all zeros").isGreaterThan(0.05);
        assertThat(relativeError(out, ref)).as(what + " " + dtype + " vs float64 reference, seed " + seed)
                .isLessThan(tolerance(dtype));
    }

    @Nested
    class Linear {
        @ParameterizedTest(name = "rows {0}, in {1}, out {2}, bias {3}, {4}")
        @CsvSource({"1, 64, 96, true, F32", "3, 33, 17, false, F64", "40, 64, 96, true, F32", "40, 64, 96, true, F64",
                "37, 50, 70, false, F32", "130, 16, 300, true, F64"})
        void multipliesByTheTransposedWeight(int rows, int in, int outDim, boolean withBias, DType dtype) {
            Backend b = backend();
            assumePrecision(b, dtype);
            long seed = 900 + rows + in;
            Random r = new Random(seed);
            double[] x = as(random(r, rows * in, 1), dtype);
            double[] w = as(random(r, outDim * in, 0.2), dtype);
            double[] bias = withBias ? as(random(r, outDim, 1), dtype) : null;
            double[] ref = Reference.linear(x, rows, in, w, outDim, bias);
            try (Tensor tx = upload(b, x, dtype, 1, rows, in); Tensor tw = upload(b, w, dtype, outDim, in);
                    Tensor tb = withBias ? upload(b, bias, dtype, outDim) : null;
                    Tensor out = b.linear(tx, tw, tb)) {
                assertThat(out.shape().dims()).containsExactly(1, rows, outDim);
                check("linear", dtype, seed, download(b, out), ref);
            }
        }
    }

    @Nested
    class Elementwise {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void rmsNormSiluGeluAddMultiply(DType dtype) {
            Backend b = backend();
            assumePrecision(b, dtype);
            long seed = 1000;
            Random r = new Random(seed);
            int rows = 5, d = 200;
            double[] x = as(random(r, rows * d, 2), dtype);
            double[] y = as(random(r, rows * d, 2), dtype);
            double[] w = as(random(r, d, 1), dtype);
            try (Tensor tx = upload(b, x, dtype, rows, d); Tensor ty = upload(b, y, dtype, rows, d);
                    Tensor tw = upload(b, w, dtype, d)) {
                try (Tensor out = b.rmsNorm(tx, tw, 1e-5)) {
                    check("rmsNorm", dtype, seed, download(b, out), Reference.rmsNorm(x, rows, d, w, 1e-5));
                }
                try (Tensor out = b.silu(tx)) {
                    check("silu", dtype, seed, download(b, out), Reference.silu(x));
                }
                try (Tensor out = b.gelu(tx)) {
                    check("gelu", dtype, seed, download(b, out), Reference.gelu(x));
                }
                double[] sum = new double[x.length];
                double[] product = new double[x.length];
                for (int i = 0; i < x.length; i++) {
                    sum[i] = x[i] + y[i];
                    product[i] = x[i] * y[i];
                }
                try (Tensor out = b.add(tx, ty)) {
                    check("add", dtype, seed, download(b, out), sum);
                }
                try (Tensor out = b.multiply(tx, ty)) {
                    check("multiply", dtype, seed, download(b, out), product);
                }
            }
        }
    }

    @Nested
    class Layout {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void embeddingGathersRows(DType dtype) {
            Backend b = backend();
            assumePrecision(b, dtype);
            Random r = new Random(1100);
            int vocab = 50, d = 12;
            double[] table = as(random(r, vocab * d, 1), dtype);
            int[] ids = {3, 0, 49, 3, 17, 8};
            try (Tensor tt = upload(b, table, dtype, vocab, d); Tensor out = b.embedding(tt, ids, 2, 3)) {
                check("embedding", dtype, 1100, download(b, out), Reference.embedding(table, d, ids));
            }
        }

        @ParameterizedTest(name = "rotary dim {0}, start {1}, {2}")
        @CsvSource({"16, 0, F32", "16, 0, F64", "8, 37, F32", "8, 37, F64", "2, 1000, F64"})
        void rotaryRotatesHalvesAtAbsolutePositions(int rotaryDim, long start, DType dtype) {
            Backend b = backend();
            assumePrecision(b, dtype);
            long seed = 1200 + rotaryDim;
            Random r = new Random(seed);
            int batch = 2, heads = 3, seq = 9, d = 16;
            double[] x = as(random(r, batch * heads * seq * d, 1), dtype);
            double[] ref = Reference.rotary(x, batch * heads, seq, d, start, rotaryDim, 10000.0);
            try (Tensor tx = upload(b, x, dtype, batch, heads, seq, d);
                    Tensor out = b.rotary(tx, start, rotaryDim, 10000.0)) {
                check("rotary", dtype, seed, download(b, out), ref);
            }
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void splitMergeAndSliceMoveElementsExactly(DType dtype) {
            Backend b = backend();
            assumePrecision(b, dtype);
            Random r = new Random(1300);
            int batch = 2, seq = 5, heads = 3, d = 4;
            double[] x = as(random(r, batch * seq * heads * d, 1), dtype);
            try (Tensor tx = upload(b, x, dtype, batch, seq, heads * d); Tensor split = b.splitHeads(tx, heads);
                    Tensor merged = b.mergeHeads(split); Tensor sliced = b.slice(tx, 2, 9)) {
                double[] splitRef = Reference.splitHeads(x, batch, seq, heads, d);
                assertThat(download(b, split)).as("splitHeads").containsExactly(splitRef);
                assertThat(download(b, merged)).as("mergeHeads after splitHeads").containsExactly(x);
                assertThat(download(b, sliced)).as("slice [2, 9)")
                        .containsExactly(Reference.slice(x, batch * seq, heads * d, 2, 7));
            }
        }
    }
}
