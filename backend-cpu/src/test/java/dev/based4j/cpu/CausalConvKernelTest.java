package dev.based4j.cpu;

import dev.based4j.Backend;

import static dev.based4j.cpu.Fixture.download;
import static dev.based4j.cpu.Fixture.relativeError;
import static dev.based4j.cpu.Fixture.upload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.reference.Reference;
import dev.based4j.state.ConvState;
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

class CausalConvKernelTest {
    private static Backend backend;

    @BeforeAll
    static void start() {
        backend = Fixture.backend();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** kernel size, then the lengths of successive calls (1 is a decode step; 600 spans several tasks). */
    static Stream<Arguments> cases() {
        int[][] plans = {{3, 1}, {3, 2}, {3, 5, 1, 1, 2}, {1, 4, 1}, {4, 2, 1, 7}, {3, 600, 1}};
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : DType.compute()) {
            for (int[] plan : plans) {
                cases.add(Arguments.of(dtype, plan));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} kernel and calls {1}")
    @MethodSource("cases")
    void matchesTheReferenceCallAfterCall(DType dtype, int[] plan) {
        long seed = 13L * plan.length + plan[0];
        Random random = new Random(seed);
        int batch = 2;
        int channels = 37;
        int kernel = plan[0];
        double[] w = Fixture.gaussian(random, channels * kernel, 1);
        double[] window = new double[batch * channels * kernel];
        try (Tensor weight = upload(backend, w, Shape.of(channels, kernel), dtype);
                ConvState state = ConvState.zeros(backend, batch, channels, kernel, dtype)) {
            for (int i = 1; i < plan.length; i++) {
                int seq = plan[i];
                double[] x = Fixture.gaussian(random, batch * seq * channels, 1);
                try (Tensor in = upload(backend, x, Shape.of(batch, seq, channels), dtype);
                        Tensor out = backend.causalConv(in, weight, state)) {
                    double[] ref = Reference.causalConv(x, batch, seq, channels, w, kernel, window);
                    assertThat(relativeError(download(backend, out), ref)).as("call %d of %d tokens, seed %d", i, seq,
                            seed).isLessThanOrEqualTo(Fixture.tolerance(dtype));
                }
                assertThat(relativeError(download(backend, state.window()), window)).as("state after call %d", i)
                        .isLessThanOrEqualTo(0);
            }
            assertThat(Fixture.nonZero(window)).isTrue();
        }
    }
}
