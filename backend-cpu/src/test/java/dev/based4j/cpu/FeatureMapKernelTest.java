package dev.based4j.cpu;

import dev.based4j.Backend;

import static dev.based4j.cpu.Fixture.download;
import static dev.based4j.cpu.Fixture.relativeError;
import static dev.based4j.cpu.Fixture.upload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.featuremap.FeatureMap;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FeatureMapKernelTest {
    private static Backend backend;

    @BeforeAll
    static void start() {
        backend = Fixture.backend();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** Every map at f = 4 and f = 16, over shapes of rank 2 to 4 (seq 1 included). */
    static Stream<Arguments> cases() {
        int[][] shapes = {{1, 1}, {7, 0}, {2, 3, 5, 0}, {3, 33, 0}};
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : DType.compute()) {
            for (int f : new int[] {4, 16}) {
                for (FeatureMap map : Fixture.allMaps(f, 7)) {
                    for (int[] s : shapes) {
                        int[] dims = s.clone();
                        dims[dims.length - 1] = f;
                        cases.add(Arguments.of(dtype, map, dims));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} on {2}")
    @MethodSource("cases")
    void matchesTheReference(DType dtype, FeatureMap map, int[] dims) {
        Shape shape = Shape.of(dims);
        long seed = map.kind().ordinal() * 31L + dims.length;
        double[] x = Fixture.gaussian(new Random(seed), (int) shape.elementCount(), 1.5);
        int seq = shape.dim(-2);
        int rows = (int) (shape.elementCount() / (seq * map.inputDim()));
        try (Tensor in = upload(backend, x, shape, dtype); Tensor out = backend.featureMap(map, in)) {
            assertThat(out.shape()).isEqualTo(shape.withLast(map.outputDim()));
            double[] ref = Reference.featureMap(map, x, rows, seq);
            assertThat(Fixture.nonZero(ref)).isTrue();
            assertThat(relativeError(download(backend, out), ref)).as("φ vs float64 reference, seed %d", seed)
                    .isLessThanOrEqualTo(Fixture.tolerance(dtype));
            assertThat(download(backend, in)).as("input unchanged").containsExactly(x);
        }
    }
}
