package dev.based4j.cpu;

import dev.based4j.Backend;

import static dev.based4j.cpu.Fixture.download;
import static dev.based4j.cpu.Fixture.relativeError;
import static dev.based4j.cpu.Fixture.upload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Taylor;
import dev.based4j.reference.Reference;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class BasedAttentionKernelTest {
    private static Backend backend;

    @BeforeAll
    static void start() {
        backend = Fixture.backend();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** A fused layer of one shape with its float64 reference state carried from call to call. */
    private static final class Case {
        final BasedAttentionSpec spec;
        final FeatureMap map;
        final int batch;
        final int heads;
        final int dv;
        final Random random;
        final double[] kv;
        final double[] z;
        final double[] ringK;
        final double[] ringV;
        long position;

        Case(FeatureMap map, int lookback, int batch, int heads, int dv, long seed) {
            this.spec = BasedAttentionSpec.of(map, lookback);
            this.map = map;
            this.batch = batch;
            this.heads = heads;
            this.dv = dv;
            this.random = new Random(seed);
            int rows = batch * heads;
            this.kv = new double[rows * dv * map.outputDim()];
            this.z = new double[rows * map.outputDim()];
            this.ringK = new double[rows * (lookback + 1) * map.inputDim()];
            this.ringV = new double[rows * (lookback + 1) * dv];
        }

        BasedAttentionState state(DType dtype) {
            return BasedAttentionState.empty(backend, batch, heads, map.inputDim(), map.outputDim(), dv,
                    spec.lookback(), dtype);
        }

        double[][] tokens(int seq, double std) {
            int n = batch * heads * seq;
            return new double[][] {Fixture.gaussian(random, n * map.inputDim(), std),
                    Fixture.gaussian(random, n * map.inputDim(), std), Fixture.gaussian(random, n * dv, 1)};
        }

        double[] reference(double[][] t, int seq) {
            double[] y = Reference.basedAttention(spec, t[0], t[1], t[2], batch, heads, seq, dv, kv, z, ringK, ringV,
                    position);
            position += seq;
            return y;
        }

        double[] run(DType dtype, double[][] t, int seq, BasedAttentionState state, boolean decode) {
            Shape qs = Shape.of(batch, heads, seq, map.inputDim());
            try (Tensor q = upload(backend, t[0], qs, dtype); Tensor k = upload(backend, t[1], qs, dtype);
                    Tensor v = upload(backend, t[2], Shape.of(batch, heads, seq, dv), dtype);
                    Tensor out = decode ? backend.basedAttentionDecode(spec, q, k, v, state)
                            : backend.basedAttentionPrefill(spec, q, k, v, state)) {
                return download(backend, out);
            }
        }
    }

    /** Every map the fused layer accepts (positive, with a decode form), each with several call plans. */
    static Stream<Arguments> cases() {
        int[][] plans = {{3, 1}, {3, 2}, {3, 4}, {3, 11}, {0, 5}, {2, 3, 1, 1, 6, 1}, {8, 30, 1, 1}};
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : DType.compute()) {
            for (FeatureMap map : Fixture.allMaps(4, 21)) {
                if (map.signedDotProduct() || !map.hasDecodeForm()) {
                    continue;
                }
                for (int[] plan : plans) {
                    cases.add(Arguments.of(dtype, map, plan));
                }
            }
        }
        return cases.stream();
    }

    @Nested
    class Prefill {
        @ParameterizedTest(name = "{0} {1} lookback and calls {2}")
        @MethodSource("dev.based4j.cpu.BasedAttentionKernelTest#cases")
        void matchesTheReferenceCallAfterCall(DType dtype, FeatureMap map, int[] plan) {
            long seed = 100L * map.kind().ordinal() + plan.length;
            Case c = new Case(map, plan[0], 2, 2, 3, seed);
            try (BasedAttentionState state = c.state(dtype)) {
                for (int i = 1; i < plan.length; i++) {
                    double[][] t = c.tokens(plan[i], 1);
                    double[] out = c.run(dtype, t, plan[i], state, plan[i] == 1 && i > 1);
                    double[] ref = c.reference(t, plan[i]);
                    assertThat(relativeError(out, ref)).as("call %d of %d tokens, seed %d", i, plan[i], seed)
                            .isLessThanOrEqualTo(Fixture.longTolerance(dtype));
                }
                assertThat(relativeError(download(backend, state.far().kv()), c.kv)).as("far kv, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.longTolerance(dtype));
                assertThat(relativeError(download(backend, state.near().keys()), c.ringK)).as("ring, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                assertThat(state.position()).isEqualTo(c.position);
            }
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void doesNotOverflowWhenQueriesAndKeysHaveStandardDeviation4(DType dtype) {
            long seed = 4;
            Case c = new Case(new Taylor(16), 16, 2, 2, 8, seed);
            try (BasedAttentionState state = c.state(dtype)) {
                for (int seq : new int[] {200, 1, 1}) {
                    double[][] t = c.tokens(seq, 4);
                    double[] out = c.run(dtype, t, seq, state, seq == 1);
                    assertThat(java.util.Arrays.stream(out).allMatch(Double::isFinite)).as("finite output").isTrue();
                    assertThat(relativeError(out, c.reference(t, seq))).as("call of %d tokens, seed %d", seq, seed)
                            .isLessThanOrEqualTo(Fixture.longTolerance(dtype));
                }
            }
        }
    }

    @Nested
    class Decode {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillOfNThenDecodeOfMEqualsPrefillOfNPlusM(DType dtype) {
            int n = 10;
            int m = 6;
            Case whole = new Case(new Taylor(4), 3, 1, 3, 4, 9);
            Case split = new Case(new Taylor(4), 3, 1, 3, 4, 9);
            double[][] all = whole.tokens(n + m, 1);
            try (BasedAttentionState a = whole.state(dtype); BasedAttentionState b = split.state(dtype)) {
                double[] expected = whole.run(dtype, all, n + m, a, false);
                int rows = split.batch * split.heads;
                int f = 4;
                int dv = split.dv;
                double[] got = new double[expected.length];
                for (int step = 0; step <= m; step++) {
                    int from = step == 0 ? 0 : n + step - 1;
                    int len = step == 0 ? n : 1;
                    double[][] t = {new double[rows * len * f], new double[rows * len * f], new double[rows * len * dv]};
                    for (int bh = 0; bh < rows; bh++) {
                        System.arraycopy(all[0], (bh * (n + m) + from) * f, t[0], bh * len * f, len * f);
                        System.arraycopy(all[1], (bh * (n + m) + from) * f, t[1], bh * len * f, len * f);
                        System.arraycopy(all[2], (bh * (n + m) + from) * dv, t[2], bh * len * dv, len * dv);
                    }
                    double[] out = split.run(dtype, t, len, b, step > 0);
                    for (int bh = 0; bh < rows; bh++) {
                        System.arraycopy(out, bh * len * dv, got, (bh * (n + m) + from) * dv, len * dv);
                    }
                }
                assertThat(relativeError(got, expected)).as("prefill(10)+decode(6) vs prefill(16)")
                        .isLessThanOrEqualTo(Fixture.longTolerance(dtype));
                assertThat(relativeError(download(backend, b.far().kv()), download(backend, a.far().kv())))
                        .as("far state").isLessThanOrEqualTo(Fixture.longTolerance(dtype));
            }
        }
    }
}
