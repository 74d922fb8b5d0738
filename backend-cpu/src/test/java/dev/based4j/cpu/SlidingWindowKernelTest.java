package dev.based4j.cpu;

import dev.based4j.Backend;

import static dev.based4j.cpu.Fixture.download;
import static dev.based4j.cpu.Fixture.relativeError;
import static dev.based4j.cpu.Fixture.upload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.reference.Reference;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class SlidingWindowKernelTest {
    private static Backend backend;

    @BeforeAll
    static void start() {
        backend = Fixture.backend();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** A window layer of one shape with its float64 reference ring carried from call to call. */
    private static final class Case {
        final SlidingWindowSpec spec;
        final int batch;
        final int heads;
        final int dk;
        final int dv;
        final int capacity;
        final Random random;
        final double[] ringK;
        final double[] ringV;
        long position;

        Case(SlidingWindowSpec spec, int batch, int heads, int dk, int dv, int maxTokens, long seed) {
            this.spec = spec;
            this.batch = batch;
            this.heads = heads;
            this.dk = dk;
            this.dv = dv;
            this.capacity = spec.isUnbounded() ? maxTokens : spec.lookback() + 1;
            this.random = new Random(seed);
            this.ringK = new double[batch * heads * capacity * dk];
            this.ringV = new double[batch * heads * capacity * dv];
        }

        WindowState state(DType dtype) {
            return spec.isUnbounded() ? WindowState.growing(backend, batch, heads, dk, dv, capacity, dtype)
                    : WindowState.empty(backend, batch, heads, dk, dv, spec.lookback(), dtype);
        }

        double[][] tokens(int seq, double std) {
            int n = batch * heads * seq;
            return new double[][] {Fixture.gaussian(random, n * dk, std), Fixture.gaussian(random, n * dk, std),
                    Fixture.gaussian(random, n * dv, 1)};
        }

        double[] reference(double[][] t, int seq) {
            double[] y = Reference.slidingWindow(spec, t[0], t[1], t[2], batch, heads, seq, dk, dv, ringK, ringV,
                    capacity, position);
            position += seq;
            return y;
        }

        double[] run(DType dtype, double[][] t, int seq, WindowState state, boolean decode) {
            Shape qs = Shape.of(batch, heads, seq, dk);
            try (Tensor q = upload(backend, t[0], qs, dtype); Tensor k = upload(backend, t[1], qs, dtype);
                    Tensor v = upload(backend, t[2], Shape.of(batch, heads, seq, dv), dtype);
                    Tensor out = decode ? backend.slidingWindowDecode(spec, q, k, v, state)
                            : backend.slidingWindowPrefill(spec, q, k, v, state)) {
                return download(backend, out);
            }
        }
    }

    /** lookback, then the lengths of successive calls: seq 1, below, at and above the lookback, wrapping. */
    static Stream<Arguments> cases() {
        int[][] plans = {{4, 1}, {4, 3}, {4, 4}, {4, 5}, {4, 13}, {0, 6}, {1, 1, 1, 1}, {5, 3, 2, 1, 7, 1, 12},
                {16, 40, 1, 1, 9}};
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : DType.compute()) {
            for (int[] plan : plans) {
                cases.add(Arguments.of(dtype, plan));
            }
        }
        return cases.stream();
    }

    @Nested
    class Prefill {
        @ParameterizedTest(name = "{0} lookback and calls {1}")
        @MethodSource("dev.based4j.cpu.SlidingWindowKernelTest#cases")
        void matchesTheReferenceCallAfterCall(DType dtype, int[] plan) {
            long seed = 17L * plan.length + plan[0];
            Case c = new Case(SlidingWindowSpec.of(plan[0]), 2, 3, 8, 5, 0, seed);
            try (WindowState state = c.state(dtype)) {
                for (int i = 1; i < plan.length; i++) {
                    double[][] t = c.tokens(plan[i], 1);
                    double[] out = c.run(dtype, t, plan[i], state, false);
                    double[] ref = c.reference(t, plan[i]);
                    assertThat(relativeError(out, ref)).as("call %d of %d tokens, seed %d", i, plan[i], seed)
                            .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                }
                assertThat(relativeError(download(backend, state.keys()), c.ringK)).as("ring keys, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                assertThat(relativeError(download(backend, state.values()), c.ringV)).as("ring values, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                assertThat(state.position()).isEqualTo(c.position);
            }
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void handlesALongSequenceWithAnExplicitScale(DType dtype) {
            long seed = 5;
            Case c = new Case(new SlidingWindowSpec(64, OptionalDouble.of(0.3)), 1, 2, 16, 16, 0, seed);
            try (WindowState state = c.state(dtype)) {
                double[][] t = c.tokens(700, 2);
                assertThat(relativeError(c.run(dtype, t, 700, state, false), c.reference(t, 700)))
                        .as("700 tokens, lookback 64, seed %d", seed).isLessThanOrEqualTo(Fixture.longTolerance(dtype));
            }
        }
    }

    @Nested
    class Decode {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillOfNThenDecodeOfMEqualsPrefillOfNPlusM(DType dtype) {
            int n = 9;
            int m = 7;
            Case whole = new Case(SlidingWindowSpec.of(4), 2, 2, 8, 6, 0, 3);
            Case split = new Case(SlidingWindowSpec.of(4), 2, 2, 8, 6, 0, 3);
            double[][] all = whole.tokens(n + m, 1);
            try (WindowState a = whole.state(dtype); WindowState b = split.state(dtype)) {
                double[] expected = whole.run(dtype, all, n + m, a, false);
                List<double[]> parts = new ArrayList<>();
                parts.add(split.run(dtype, slice(all, split, 0, n, n + m), n, b, false));
                for (int i = n; i < n + m; i++) {
                    parts.add(split.run(dtype, slice(all, split, i, 1, n + m), 1, b, true));
                }
                assertThat(relativeError(join(parts, split, n, n + m), expected)).as("prefill(9)+decode(7)")
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                assertThat(relativeError(download(backend, b.keys()), download(backend, a.keys())))
                        .as("ring keys").isLessThanOrEqualTo(0);
            }
        }
    }

    @Nested
    class FullAttention {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void unboundedLookbackWithAGrowingCacheIsFullCausalAttention(DType dtype) {
            long seed = 8;
            Case c = new Case(SlidingWindowSpec.unbounded(), 2, 2, 8, 4, 300, seed);
            try (WindowState state = c.state(dtype)) {
                for (int seq : new int[] {150, 1, 1, 47}) {
                    double[][] t = c.tokens(seq, 1);
                    double[] out = c.run(dtype, t, seq, state, seq == 1);
                    assertThat(relativeError(out, c.reference(t, seq))).as("call of %d at position %d, seed %d", seq,
                            state.position() - seq, seed).isLessThanOrEqualTo(Fixture.tolerance(dtype));
                }
                assertThat(state.length()).isEqualTo(199);
            }
        }
    }

    private static double[][] slice(double[][] t, Case c, int from, int len, int total) {
        int rows = c.batch * c.heads;
        double[][] out = {new double[rows * len * c.dk], new double[rows * len * c.dk], new double[rows * len * c.dv]};
        for (int bh = 0; bh < rows; bh++) {
            System.arraycopy(t[0], (bh * total + from) * c.dk, out[0], bh * len * c.dk, len * c.dk);
            System.arraycopy(t[1], (bh * total + from) * c.dk, out[1], bh * len * c.dk, len * c.dk);
            System.arraycopy(t[2], (bh * total + from) * c.dv, out[2], bh * len * c.dv, len * c.dv);
        }
        return out;
    }

    /** Joins a prefill of {@code n} tokens and single decoded tokens into one {@code total}-token output. */
    private static double[] join(List<double[]> parts, Case c, int n, int total) {
        int rows = c.batch * c.heads;
        double[] all = new double[rows * total * c.dv];
        for (int bh = 0; bh < rows; bh++) {
            System.arraycopy(parts.get(0), bh * n * c.dv, all, bh * total * c.dv, n * c.dv);
            for (int i = 1; i < parts.size(); i++) {
                System.arraycopy(parts.get(i), bh * c.dv, all, (bh * total + n + i - 1) * c.dv, c.dv);
            }
        }
        return all;
    }
}
