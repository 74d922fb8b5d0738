package dev.based4j.cpu;

import dev.based4j.Backend;

import static dev.based4j.cpu.Fixture.download;
import static dev.based4j.cpu.Fixture.relativeError;
import static dev.based4j.cpu.Fixture.upload;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Taylor;
import dev.based4j.reference.Reference;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class LinearAttentionKernelTest {
    private static Backend backend;

    @BeforeAll
    static void start() {
        backend = Fixture.backend();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /**
     * batch, heads, seq, dv; chunk 8 so that 13 and 40 are not multiples of it. One head of 44 tokens is fewer heads
     * than threads: its chunks run in parallel.
     */
    private static final int[][] SHAPES = {{1, 1, 1, 3}, {2, 3, 13, 5}, {1, 2, 40, 4}, {1, 1, 44, 6}};
    private static final int CHUNK = 8;

    /** q, k, v of one case and the float64 reference state carried from call to call. */
    private static final class Case {
        final FeatureMap map;
        final LinearAttentionSpec spec;
        final int batch;
        final int heads;
        final int dv;
        final Random random;
        final double[] kv;
        final double[] z;

        Case(FeatureMap map, PrefillAlgorithm algorithm, int chunk, int batch, int heads, int dv, long seed) {
            this.map = map;
            this.spec = new LinearAttentionSpec(map, LinearAttentionSpec.DEFAULT_EPS, algorithm, chunk,
                    map.signedDotProduct());
            this.batch = batch;
            this.heads = heads;
            this.dv = dv;
            this.random = new Random(seed);
            this.kv = new double[batch * heads * dv * map.outputDim()];
            this.z = new double[batch * heads * map.outputDim()];
        }

        LinearAttentionState state(DType dtype) {
            return LinearAttentionState.zeros(backend, batch, heads, map.outputDim(), dv, dtype);
        }

        double[][] tokens(int seq) {
            int n = batch * heads * seq * map.inputDim();
            boolean positive = Fixture.needsPositiveInputs(map);
            double[] q = positive ? Fixture.positive(random, n) : Fixture.gaussian(random, n, 1);
            double[] k = positive ? Fixture.positive(random, n) : Fixture.gaussian(random, n, 1);
            return new double[][] {q, k, Fixture.gaussian(random, batch * heads * seq * dv, 1)};
        }

        /** The reference on these tokens, advancing the reference state. */
        double[] reference(double[][] t, int seq) {
            return Reference.linearAttention(spec, t[0], t[1], t[2], batch, heads, seq, dv, kv, z);
        }

        /** The backend on these tokens, prefill or decode, advancing {@code state}. */
        double[] run(DType dtype, double[][] t, int seq, LinearAttentionState state, boolean decode) {
            Shape qs = Shape.of(batch, heads, seq, map.inputDim());
            Shape vs = Shape.of(batch, heads, seq, dv);
            try (Tensor q = upload(backend, t[0], qs, dtype); Tensor k = upload(backend, t[1], qs, dtype);
                    Tensor v = upload(backend, t[2], vs, dtype);
                    Tensor out = decode ? backend.linearAttentionDecode(spec, q, k, v, state)
                            : backend.linearAttentionPrefill(spec, q, k, v, state)) {
                return download(backend, out);
            }
        }
    }

    static Stream<Arguments> prefillCases() {
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : DType.compute()) {
            for (FeatureMap map : Fixture.allMaps(4, 11)) {
                for (int[] shape : SHAPES) {
                    List<PrefillAlgorithm> algorithms = dtype == DType.F64 ? List.of(PrefillAlgorithm.AUTO)
                            : Arrays.asList(PrefillAlgorithm.values());
                    for (PrefillAlgorithm a : algorithms) {
                        cases.add(Arguments.of(dtype, map, a, shape));
                    }
                }
            }
        }
        return cases.stream();
    }

    @Nested
    class Prefill {
        @ParameterizedTest(name = "{0} {1} {2} shape {3}")
        @MethodSource("dev.based4j.cpu.LinearAttentionKernelTest#prefillCases")
        void matchesTheReference(DType dtype, FeatureMap map, PrefillAlgorithm algorithm, int[] shape) {
            long seed = 1000L * shape[2] + map.kind().ordinal();
            Case c = new Case(map, algorithm, CHUNK, shape[0], shape[1], shape[3], seed);
            double[][] t = c.tokens(shape[2]);
            try (LinearAttentionState state = c.state(dtype)) {
                double[] out = c.run(dtype, t, shape[2], state, false);
                double[] ref = c.reference(t, shape[2]);
                assertThat(Fixture.nonZero(ref)).isTrue();
                assertThat(relativeError(out, ref)).as("output vs float64 reference, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                assertThat(relativeError(download(backend, state.kv()), c.kv)).as("state kv, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                assertThat(relativeError(download(backend, state.z()), c.z)).as("state z, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                assertThat(state.position()).isEqualTo(shape[2]);
            }
        }

        @ParameterizedTest(name = "{0} {1}")
        @MethodSource("dev.based4j.cpu.LinearAttentionKernelTest#longCases")
        void matchesTheReferenceOnALongSequenceOfTaylor16(DType dtype, PrefillAlgorithm algorithm) {
            long seed = 77;
            Case c = new Case(new Taylor(16), algorithm, 64, 1, 2, 16, seed);
            int seq = 600;
            double[][] t = c.tokens(seq);
            try (LinearAttentionState state = c.state(dtype)) {
                double[] out = c.run(dtype, t, seq, state, false);
                double[] ref = c.reference(t, seq);
                assertThat(relativeError(out, ref)).as("output, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.longTolerance(dtype));
                assertThat(relativeError(download(backend, state.kv()), c.kv)).as("state kv, seed %d", seed)
                        .isLessThanOrEqualTo(Fixture.longTolerance(dtype));
            }
        }

        @ParameterizedTest(name = "{0} {1}")
        @MethodSource("dev.based4j.cpu.LinearAttentionKernelTest#continuationCases")
        void continuesFromTheStateOfEarlierCalls(DType dtype, FeatureMap map, PrefillAlgorithm algorithm) {
            long seed = 31 + map.kind().ordinal();
            Case c = new Case(map, algorithm, 5, 2, 2, 3, seed);
            try (LinearAttentionState state = c.state(dtype)) {
                for (int seq : new int[] {7, 12, 1, 9}) {
                    double[][] t = c.tokens(seq);
                    double[] out = c.run(dtype, t, seq, state, false);
                    double[] ref = c.reference(t, seq);
                    assertThat(relativeError(out, ref)).as("call of %d tokens, seed %d", seq, seed)
                            .isLessThanOrEqualTo(Fixture.tolerance(dtype));
                }
                assertThat(state.position()).isEqualTo(29);
            }
        }
    }

    static Stream<Arguments> longCases() {
        return Stream.of(Arguments.of(DType.F64, PrefillAlgorithm.AUTO),
                Arguments.of(DType.F32, PrefillAlgorithm.AUTO), Arguments.of(DType.F32, PrefillAlgorithm.QUADRATIC),
                Arguments.of(DType.F32, PrefillAlgorithm.CHUNKED), Arguments.of(DType.F32, PrefillAlgorithm.RECURRENT));
    }

    static Stream<Arguments> continuationCases() {
        List<Arguments> cases = new ArrayList<>();
        for (FeatureMap map : Fixture.allMaps(4, 5)) {
            if (!map.hasDecodeForm()) {
                continue;
            }
            cases.add(Arguments.of(DType.F64, map, PrefillAlgorithm.AUTO));
            for (PrefillAlgorithm a : PrefillAlgorithm.values()) {
                cases.add(Arguments.of(DType.F32, map, a));
            }
        }
        return cases.stream();
    }

    @Nested
    class Forms {
        @ParameterizedTest(name = "{0}")
        @MethodSource("dev.based4j.cpu.LinearAttentionKernelTest#formMaps")
        void quadraticChunkedAndRecurrentAgree(FeatureMap map) {
            int seq = 50;
            double[][] outs = new double[3][];
            double[][] states = new double[3][];
            PrefillAlgorithm[] forms = {PrefillAlgorithm.QUADRATIC, PrefillAlgorithm.CHUNKED, PrefillAlgorithm.RECURRENT};
            for (int i = 0; i < forms.length; i++) {
                Case c = new Case(map, forms[i], 7, 1, 2, 6, 99); // same seed: same tokens
                double[][] t = c.tokens(seq);
                try (LinearAttentionState state = c.state(DType.F32)) {
                    // a first call fills the state, so the second also reads a carried state
                    c.run(DType.F32, c.tokens(9), 9, state, false);
                    outs[i] = c.run(DType.F32, t, seq, state, false);
                    states[i] = download(backend, state.kv());
                }
            }
            assertThat(relativeError(outs[1], outs[0])).as("chunked vs quadratic").isLessThanOrEqualTo(1e-5);
            assertThat(relativeError(outs[2], outs[0])).as("recurrent vs quadratic").isLessThanOrEqualTo(1e-5);
            assertThat(relativeError(states[1], states[0])).as("chunked state vs quadratic").isLessThanOrEqualTo(1e-5);
            assertThat(relativeError(states[2], states[0])).as("recurrent state vs quadratic").isLessThanOrEqualTo(1e-5);
        }
    }

    static Stream<FeatureMap> formMaps() {
        return Stream.of(new Taylor(8), new PosElu(6));
    }

    @Nested
    class Decode {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillOfNThenDecodeOfMEqualsPrefillOfNPlusM(DType dtype) {
            for (FeatureMap map : Fixture.allMaps(4, 3)) {
                if (!map.hasDecodeForm()) {
                    continue;
                }
                int n = 11;
                int m = 6;
                Case whole = new Case(map, PrefillAlgorithm.AUTO, CHUNK, 2, 2, 5, 5);
                Case split = new Case(map, PrefillAlgorithm.AUTO, CHUNK, 2, 2, 5, 5);
                double[][] all = whole.tokens(n + m);
                try (LinearAttentionState a = whole.state(dtype); LinearAttentionState b = split.state(dtype)) {
                    double[] expected = whole.run(dtype, all, n + m, a, false);
                    double[] got = new double[expected.length];
                    place(got, split.run(dtype, slice(all, split, 0, n, n + m), n, b, false), split, 0, n, n + m);
                    for (int i = n; i < n + m; i++) {
                        place(got, split.run(dtype, slice(all, split, i, 1, n + m), 1, b, true), split, i, 1, n + m);
                    }
                    assertThat(relativeError(got, expected)).as("%s: prefill(%d)+decode(%d) vs prefill(%d)", map, n,
                            m, n + m).isLessThanOrEqualTo(Fixture.tolerance(dtype));
                    assertThat(relativeError(download(backend, b.kv()), download(backend, a.kv())))
                            .as("%s: final state", map).isLessThanOrEqualTo(Fixture.tolerance(dtype));
                    assertThat(b.position()).isEqualTo(n + m);
                }
            }
        }

        @Test
        void decodeStepMatchesTheReferenceWithAHeavyState() {
            Case d = new Case(new Taylor(16), PrefillAlgorithm.AUTO, 64, 2, 3, 8, 12);
            try (LinearAttentionState state = d.state(DType.F32)) {
                double[][] prompt = d.tokens(200);
                d.run(DType.F32, prompt, 200, state, false);
                d.reference(prompt, 200);
                for (int i = 0; i < 5; i++) {
                    double[][] t = d.tokens(1);
                    double[] out = d.run(DType.F32, t, 1, state, true);
                    double[] ref = d.reference(t, 1);
                    assertThat(relativeError(out, ref)).as("decode step %d after 200 tokens", i)
                            .isLessThanOrEqualTo(Fixture.tolerance(DType.F32));
                }
            }
        }
    }

    /** Tokens {@code [from, from+len)} of every (batch, head) of a {@code total}-token input. */
    private static double[][] slice(double[][] t, Case c, int from, int len, int total) {
        int f = c.map.inputDim();
        double[][] out = {new double[c.batch * c.heads * len * f], new double[c.batch * c.heads * len * f],
                new double[c.batch * c.heads * len * c.dv]};
        for (int bh = 0; bh < c.batch * c.heads; bh++) {
            System.arraycopy(t[0], (bh * total + from) * f, out[0], bh * len * f, len * f);
            System.arraycopy(t[1], (bh * total + from) * f, out[1], bh * len * f, len * f);
            System.arraycopy(t[2], (bh * total + from) * c.dv, out[2], bh * len * c.dv, len * c.dv);
        }
        return out;
    }

    /** Writes a {@code len}-token output into tokens {@code [from, from+len)} of a {@code total}-token output. */
    private static void place(double[] all, double[] part, Case c, int from, int len, int total) {
        for (int bh = 0; bh < c.batch * c.heads; bh++) {
            System.arraycopy(part, bh * len * c.dv, all, (bh * total + from) * c.dv, len * c.dv);
        }
    }
}
