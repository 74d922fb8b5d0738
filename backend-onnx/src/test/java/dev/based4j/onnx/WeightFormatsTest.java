package dev.based4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.reference.Reference;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code linear} and {@code embedding} with weights stored as bf16, f16 and int8 (per output channel and per group of
 * inputs), in every precision the device computes in, against the float64 reference computed on the weight's
 * dequantized values: the storage format changes the weights, never the arithmetic, so the call's own tolerance
 * holds (1e-5 relative for f32, 1e-10 for f64).
 */
class WeightFormatsTest {
    private static Backend shared;

    /** One backend for the test classes of this JVM, closed with it. */
    private static synchronized Backend backend() {
        if (shared == null) {
            shared = Backends.select("onnx");
        }
        return shared;
    }

    private static void assumePrecision(Backend b, DType dtype) {
        assumeTrue(b.capabilities().precisions().contains(dtype),
                () -> "device " + b.device() + " does not compute in " + dtype.label());
    }

    private static double tolerance(DType dtype) {
        return dtype == DType.F64 ? 1e-10 : 1e-5;
    }

    private static double[] gaussian(Random r, int n, double std, DType dtype) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            double v = r.nextGaussian() * std;
            x[i] = dtype == DType.F32 ? (float) v : v;
        }
        return x;
    }

    /** {@code max|out-ref| / max(1, max|ref|)}; a NaN anywhere is an infinite error. */
    private static double relativeError(double[] out, double[] ref) {
        assertThat(out).as("output length").hasSameSizeAs(ref);
        double diff = 0;
        double max = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(out[i] - ref[i]);
            diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(diff, d);
            max = Math.max(max, Math.abs(ref[i]));
        }
        return diff / Math.max(1, max);
    }

    private static void assertMatches(String what, long seed, DType dtype, double[] out, double[] ref) {
        double max = 0;
        for (double v : ref) {
            max = Math.max(max, Math.abs(v));
        }
        assertThat(max).as("%s: reference is not all zeros (seed %d)", what, seed).isGreaterThan(0.1);
        assertThat(relativeError(out, ref)).as("%s: max relative error vs float64 reference (seed %d)", what, seed)
                .isLessThanOrEqualTo(tolerance(dtype));
    }

    @Test
    void declaresEveryWeightFormatItReads() {
        assertThat(backend().capabilities().weightTypes()).contains(DType.BF16, DType.F16, DType.I8);
    }

    @Test
    void theCudaProviderDeclaresNoReducedFormatUntilItHasRunOnAGpu() {
        assertThat(OnnxEngine.weightTypes(ExecutionProvider.CUDA)).isEmpty();
        assertThat(OnnxEngine.weightTypes(ExecutionProvider.CPU)).containsExactlyInAnyOrder(DType.BF16, DType.F16,
                DType.I8);
    }

    @Nested
    class Linear {
        /** Decode-like (1 to 16 rows) and prefill-like (100+ rows) products, with and without bias. */
        static Stream<Arguments> cases() {
            List<Arguments> cases = new ArrayList<>();
            int[][] shapes = {{1, 384, 70}, {5, 384, 33}, {16, 256, 96}, {100, 256, 70}, {130, 384, 40}};
            for (WeightFormat f : WeightFormat.values()) {
                for (DType dtype : DType.compute()) {
                    for (int s = 0; s < shapes.length; s++) {
                        cases.add(Arguments.of(f, dtype, shapes[s][0], shapes[s][1], shapes[s][2], s % 2 == 0));
                    }
                }
            }
            return cases.stream();
        }

        @ParameterizedTest(name = "{0}, {1}, rows {2}, in {3}, out {4}, bias {5}")
        @MethodSource("cases")
        void multipliesByTheDequantizedWeight(WeightFormat format, DType dtype, int rows, int in, int outDim,
                boolean withBias) {
            Backend b = backend();
            assumePrecision(b, dtype);
            long seed = 7000L + 31L * format.ordinal() + rows + in + outDim + (withBias ? 1 : 0);
            Random r = new Random(seed);
            double[] x = gaussian(r, rows * in, 1, dtype);
            WeightFormat.Stored w = format.store(gaussian(r, outDim * in, 0.1, DType.F64), outDim, in, dtype);
            double[] bias = withBias ? gaussian(r, outDim, 1, dtype) : null;
            double[] ref = Reference.linear(x, rows, in, w.dequantized(), outDim, bias);
            try (Tensor tx = b.upload(HostTensor.of(x, Shape.of(rows, in), dtype)); Weight tw = w.upload(b);
                    Tensor tb = withBias ? b.upload(HostTensor.of(bias, Shape.of(outDim), dtype)) : null;
                    Tensor out = b.linear(tx, tw, tb)) {
                assertThat(out.dtype()).as("output type").isEqualTo(dtype);
                assertMatches("linear " + format + " " + dtype.label(), seed, dtype, b.download(out).toDoubleArray(),
                        ref);
            }
        }
    }

    @Nested
    class Embedding {
        static Stream<Arguments> cases() {
            return Stream.of(WeightFormat.values())
                    .flatMap(f -> DType.compute().stream().map(dtype -> Arguments.of(f, dtype)));
        }

        @ParameterizedTest(name = "{0}, {1}")
        @MethodSource("cases")
        void gathersDequantizedRows(WeightFormat format, DType dtype) {
            Backend b = backend();
            assumePrecision(b, dtype);
            long seed = 8000L + 31L * format.ordinal() + dtype.ordinal();
            Random r = new Random(seed);
            int vocab = 97;
            int d = 256;
            WeightFormat.Stored table = format.store(gaussian(r, vocab * d, 1, DType.F64), vocab, d, dtype);
            int[] ids = {3, 0, 96, 3, 17, 8, 50, 95};
            try (Weight tt = table.upload(b); Tensor out = b.embedding(tt, ids, 2, 4, dtype)) {
                assertThat(out.shape().dims()).containsExactly(2, 4, d);
                assertMatches("embedding " + format + " " + dtype.label(), seed, dtype,
                        b.download(out).toDoubleArray(), Reference.embedding(table.dequantized(), d, ids));
            }
        }
    }

    @Nested
    class Memory {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"BF16", "F16", "I8"})
        void storesWeightTypesAsGivenAndAllocatesThemZeroed(DType type) {
            Backend b = backend();
            Random r = new Random(9000 + type.ordinal());
            double[] values = new double[37];
            for (int i = 0; i < values.length; i++) {
                values[i] = type == DType.I8 ? r.nextInt(-128, 128) : r.nextGaussian() * 100;
            }
            HostTensor host = HostTensor.of(values, Shape.of(values.length), type);
            try (Tensor t = b.upload(host); Tensor z = b.allocate(Shape.of(3, 7), type)) {
                assertThat(t.dtype()).isEqualTo(type);
                assertThat(b.download(t).segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                        .as("bytes of a %s tensor after a round trip", type.label())
                        .containsExactly(host.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                assertThat(b.download(z).toDoubleArray()).containsOnly(0.0);
            }
        }
    }

    @Nested
    class Refusals {
        @Test
        void int8ScalesOfTheWrongShapeAreNamed() {
            Backend b = backend();
            WeightFormat.Stored w = WeightFormat.I8_PER_CHANNEL.store(gaussian(new Random(1), 8 * 64, 1, DType.F64),
                    8, 64, DType.F32);
            try (Tensor x = b.upload(HostTensor.of(gaussian(new Random(2), 64, 1, DType.F32), Shape.of(1, 64),
                            DType.F32));
                    Tensor values = b.upload(w.values());
                    Tensor scales = b.upload(HostTensor.of(new double[7], Shape.of(7), DType.F32))) {
                assertThatThrownBy(() -> b.linear(x, Weight.int8(values, scales), null).close())
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight.scales")
                        .hasMessageContaining("[8]");
            }
        }

        @Test
        void aGroupThatDoesNotDivideTheInputsIsNamed() {
            Backend b = backend();
            double[] q = new double[4 * 48];
            try (Tensor x = b.upload(HostTensor.of(new double[48], Shape.of(1, 48), DType.F32));
                    Tensor values = b.upload(HostTensor.of(q, Shape.of(4, 48), DType.I8));
                    Tensor scales = b.upload(HostTensor.of(new double[4], Shape.of(4, 1), DType.F32))) {
                assertThatThrownBy(() -> b.linear(x, Weight.int8(values, scales, 32), null).close())
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight.groupSize")
                        .hasMessageContaining("48");
            }
        }

        @Test
        void aBackendThatDoesNotDeclareAFormatRefusesItNamingTheType() {
            try (Backend restricted = withoutWeightFormats(Engine.behind(backend()), "onnx")) {
                assertThat(restricted.capabilities().weightTypes()).doesNotContain(DType.BF16);
                assertThatThrownBy(() -> restricted.upload(HostTensor.of(new double[4], Shape.of(2, 2), DType.BF16)))
                        .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("bf16")
                        .hasMessageContaining("onnx");
            }
        }

        /** The same engine with its plumbing declared for the compute types only; closing it leaves the engine. */
        private static <B> Backend withoutWeightFormats(Engine<B> engine, String name) {
            return engine.toBuilder().withoutFamilies().plumbing(engine.plumbing().orElseThrow()).onClose(null)
                    .build().open(name);
        }
    }
}
