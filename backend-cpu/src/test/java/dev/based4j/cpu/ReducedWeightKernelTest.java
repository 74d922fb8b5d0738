package dev.based4j.cpu;

import static dev.based4j.cpu.Fixture.relativeError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.cpu.kernels.F32Kernels;
import dev.based4j.cpu.kernels.PlainF32Kernels;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Linear and embedding with weights stored as bf16, f16 and int8, on the vector and the plain float32 loops and on
 * the float64 path: each result against the float64 reference computed on the weights as stored (dequantized), so a
 * kernel that reads a weight wrongly fails at the float32 tolerance, whatever the format costs in accuracy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReducedWeightKernelTest {
    private final List<Backend> backends = new ArrayList<>();

    @BeforeAll
    void start() {
        backends.add(CpuEngine.create(Fixture.THREADS, F32Kernels.select(false)).open("cpu"));
        backends.add(CpuEngine.create(Fixture.THREADS, new PlainF32Kernels()).open("cpu"));
    }

    @AfterAll
    void stop() {
        backends.forEach(Backend::close);
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        List<WeightFormat> formats = List.of(WeightFormat.BF16, WeightFormat.F16, WeightFormat.INT8,
                WeightFormat.int8(32), WeightFormat.int8(16));
        // rows 1 and 3 take the decode path (dot products over the weight where it lies), 40 the panel path;
        // in = 96 is a multiple of every vector width, 100 and 9 leave tails
        int[][] shapes = {{1, 96, 37}, {3, 100, 21}, {40, 96, 70}, {1, 9, 5}, {17, 64, 130}};
        for (int b = 0; b < 2; b++) {
            for (WeightFormat f : formats) {
                for (int[] s : shapes) {
                    if (f.groupSize() != 0 && s[1] % f.groupSize() != 0) {
                        continue;
                    }
                    for (DType dtype : DType.compute()) {
                        out.add(Arguments.of(b, f, dtype, s[0], s[1], s[2]));
                    }
                }
            }
        }
        return out.stream();
    }

    @Nested
    class Linear {
        @ParameterizedTest(name = "kernels {0}, {1} weights, {2}, rows {3} in {4} out {5}")
        @MethodSource("dev.based4j.cpu.ReducedWeightKernelTest#cases")
        void matchesTheReferenceOnTheStoredWeights(int kernels, WeightFormat format, DType dtype, int rows, int in,
                int outDim) {
            Backend backend = backends.get(kernels);
            long seed = 97L * rows + 13L * in + outDim;
            Random random = new Random(seed);
            double[] x = Fixture.gaussian(random, rows * in, 1);
            double[] w = Fixture.gaussian(random, outDim * in, 1.0 / Math.sqrt(in));
            double[] bias = Fixture.gaussian(random, outDim, 1);
            HostWeight stored = HostWeight.convert("w", HostTensor.of(w, Shape.of(outDim, in), DType.F32), format);
            try (Tensor xt = Fixture.upload(backend, x, Shape.of(rows, in), dtype);
                    Weight wt = stored.upload(backend, dtype);
                    Tensor bt = Fixture.upload(backend, bias, Shape.of(outDim), dtype);
                    Tensor out = backend.linear(xt, wt, bt)) {
                double[] ref = Reference.linear(x, rows, in, stored.dequantized(), outDim, bias);
                assertThat(relativeError(Fixture.download(backend, out), ref))
                        .as("linear with %s weights vs float64 on the stored weights, seed %d", format, seed)
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
            }
        }
    }

    @Nested
    class Embedding {
        @ParameterizedTest(name = "kernels {0}, {1} table, {2}, d {4}")
        @MethodSource("dev.based4j.cpu.ReducedWeightKernelTest#cases")
        void gathersTheStoredRowsWidened(int kernels, WeightFormat format, DType dtype, int rows, int d, int vocab) {
            Backend backend = backends.get(kernels);
            long seed = 7L * d + vocab;
            Random random = new Random(seed);
            double[] table = Fixture.gaussian(random, vocab * d, 1);
            int[] ids = random.ints(6, 0, vocab).toArray();
            ids[0] = vocab - 1;
            HostWeight stored = HostWeight.convert("table", HostTensor.of(table, Shape.of(vocab, d), DType.F32),
                    format);
            try (Weight t = stored.upload(backend, dtype);
                    Tensor out = backend.embedding(t, ids, 2, 3, dtype)) {
                double[] ref = Reference.embedding(stored.dequantized(), d, ids);
                assertThat(relativeError(Fixture.download(backend, out), ref))
                        .as("embedding of %s rows vs the stored values, seed %d", format, seed)
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
            }
        }
    }

    @Test
    void theBackendDeclaresEveryReducedFormat() {
        assertThat(backends.get(0).capabilities().weightTypes()).contains(DType.BF16, DType.F16, DType.I8);
    }

    @Test
    void int8ScalesOfTheWrongShapeAreRefusedNamingThem() {
        Backend backend = backends.get(0);
        try (Tensor x = Fixture.upload(backend, new double[] {1, 2, 3, 4}, Shape.of(1, 4), DType.F32);
                Tensor values = backend.upload(HostTensor.of(new double[] {1, 2, 3, 4, 5, 6, 7, 8}, Shape.of(2, 4),
                        DType.I8));
                Tensor scales = Fixture.upload(backend, new double[] {1, 1, 1}, Shape.of(3), DType.F32)) {
            assertThatThrownBy(() -> backend.linear(x, Weight.int8(values, scales), null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weight.scales")
                    .hasMessageContaining("[2]");
        }
    }
}
