package dev.based4j.opencl;

import static dev.based4j.opencl.OpenClTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.AllPoly;
import dev.based4j.featuremap.CosFormer;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Identity;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Relu;
import dev.based4j.featuremap.Square;
import dev.based4j.featuremap.Taylor;
import dev.based4j.reference.Reference;
import dev.based4j.Backend;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

class LinearAttentionKernelsTest {
    private static final int BATCH = 2;
    private static final int HEADS = 2;

    /** Inputs of one call and the float64 reference's output, continuing from the reference state. */
    private record Call(double[] q, double[] k, double[] v, int seq, double[] ref) {}

    /** Runs the same calls on the device and the reference and returns the largest relative error seen. */
    private static double runCalls(LinearAttentionSpec spec, DType dtype, long seed, int dv, int[] seqs,
            boolean decodeForSingleTokens) {
        Backend b = backend();
        assumePrecision(b, dtype);
        Random r = new Random(seed);
        int f = spec.featureDim();
        int e = spec.expandedDim();
        double[] kv = new double[BATCH * HEADS * dv * e];
        double[] z = new double[BATCH * HEADS * e];
        double worst = 0;
        double scale = spec.featureMap() instanceof Identity ? 0 : 0.6;
        try (LinearAttentionState state = LinearAttentionState.zeros(b, BATCH, HEADS, e, dv, dtype)) {
            for (int seq : seqs) {
                double[] q = as(scale == 0 ? positive(r, BATCH * HEADS * seq * f) : random(r, BATCH * HEADS * seq * f, scale), dtype);
                double[] k = as(scale == 0 ? positive(r, BATCH * HEADS * seq * f) : random(r, BATCH * HEADS * seq * f, scale), dtype);
                double[] v = as(random(r, BATCH * HEADS * seq * dv, 1), dtype);
                double[] ref = Reference.linearAttention(spec, q, k, v, BATCH, HEADS, seq, dv, kv, z);
                try (Tensor tq = upload(b, q, dtype, BATCH, HEADS, seq, f);
                        Tensor tk = upload(b, k, dtype, BATCH, HEADS, seq, f);
                        Tensor tv = upload(b, v, dtype, BATCH, HEADS, seq, dv);
                        Tensor out = seq == 1 && decodeForSingleTokens
                                ? b.linearAttentionDecode(spec, tq, tk, tv, state)
                                : b.linearAttentionPrefill(spec, tq, tk, tv, state)) {
                    assertThat(maxAbs(ref)).as("reference output of seed " + seed).isGreaterThan(0.05);
                    worst = Math.max(worst, relativeError(download(b, out), ref));
                }
            }
            worst = Math.max(worst, relativeError(download(b, state.kv()), kv));
            worst = Math.max(worst, relativeError(download(b, state.z()), z));
            assertThat(state.position()).isEqualTo(Stream.of(seqs).flatMapToInt(java.util.Arrays::stream).sum());
        }
        return worst;
    }

    /** Uniform in [0.05, 1]: keeps Identity's normaliser positive, as the golden Identity cases do. */
    private static double[] positive(Random r, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = 0.05 + 0.95 * r.nextDouble();
        }
        return x;
    }

    @Nested
    class Prefill {
        static Stream<Arguments> mapsAndTypes() {
            Stream<FeatureMap> maps = Stream.of(new Taylor(16), new Taylor(8), new Identity(8), new Relu(16),
                    new PosElu(16), new Square(16), new CosFormer(16), Performer.orthogonal(16, 64, 5),
                    AllPoly.random(16, 6));
            return maps.flatMap(m -> DType.compute().stream().map(t -> Arguments.of(m, t)));
        }

        @ParameterizedTest(name = "{0} {1}")
        @MethodSource("mapsAndTypes")
        void matchesTheReferenceForEveryFeatureMap(FeatureMap map, DType dtype) {
            var spec = new LinearAttentionSpec(map, LinearAttentionSpec.DEFAULT_EPS, PrefillAlgorithm.AUTO, 16, true);
            double err = runCalls(spec, dtype, 21 + map.kind().ordinal(), 16, new int[] {37}, false);
            assertThat(err).as(map + " prefill (37 tokens, chunks of 16) vs float64 reference, seed "
                    + (21 + map.kind().ordinal())).isLessThan(tolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(PrefillAlgorithm.class)
        void everyAlgorithmComputesTheSameFunction(PrefillAlgorithm algorithm) {
            for (DType dtype : DType.compute()) {
                var spec = LinearAttentionSpec.of(new Taylor(16)).withAlgorithm(algorithm).withChunkSize(8);
                double err = runCalls(spec, dtype, 31, 32, new int[] {50}, false);
                assertThat(err).as(algorithm + " " + dtype + " vs float64 reference, seed 31").isLessThan(tolerance(dtype));
            }
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void continuesFromAStateAcrossCalls(DType dtype) {
            var spec = LinearAttentionSpec.of(new Taylor(16)).withChunkSize(16);
            double err = runCalls(spec, dtype, 41, 24, new int[] {20, 45, 3, 1, 16}, false);
            assertThat(err).as("five prefills continuing the state vs reference, seed 41").isLessThan(tolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void longSequencesStayWithinTheLongTolerance(DType dtype) {
            var spec = LinearAttentionSpec.of(new Taylor(16));
            double err = runCalls(spec, dtype, 51, 64, new int[] {600}, false);
            assertThat(err).as("600 tokens in chunks of 64 vs reference, seed 51").isLessThan(longTolerance(dtype));
        }

        @Test
        void cosFormerRefusesToContinueAState() {
            Backend b = backend();
            var spec = LinearAttentionSpec.of(new CosFormer(4));
            try (LinearAttentionState state = LinearAttentionState.zeros(b, 1, 1, 8, 4, DType.F32);
                    Tensor q = upload(b, new double[8], DType.F32, 1, 1, 2, 4);
                    Tensor v = upload(b, new double[8], DType.F32, 1, 1, 2, 4)) {
                b.linearAttentionPrefill(spec, q, q, v, state).close();
                assertThatThrownBy(() -> b.linearAttentionPrefill(spec, q, q, v, state))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cosformer");
            }
        }
    }

    @Nested
    class Decode {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void continuesExactlyWherePrefillStopped(DType dtype) {
            var spec = LinearAttentionSpec.of(new Taylor(16));
            double err = runCalls(spec, dtype, 61, 32, new int[] {30, 1, 1, 1, 1, 1}, true);
            assertThat(err).as("prefill 30 then decode 5 vs reference, seed 61").isLessThan(tolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void decodesFromAnEmptyStateWithAPerformerMap(DType dtype) {
            var spec = LinearAttentionSpec.of(Performer.orthogonal(8, 32, 9));
            double err = runCalls(spec, dtype, 71, 8, new int[] {1, 1, 1, 1}, true);
            assertThat(err).as("four decode steps from zero, performer, seed 71").isLessThan(tolerance(dtype));
        }

        @Test
        void cosFormerHasNoDecodeForm() {
            Backend b = backend();
            var spec = LinearAttentionSpec.of(new CosFormer(4));
            try (LinearAttentionState state = LinearAttentionState.zeros(b, 1, 1, 8, 4, DType.F32);
                    Tensor q = upload(b, new double[4], DType.F32, 1, 1, 1, 4)) {
                assertThatThrownBy(() -> b.linearAttentionDecode(spec, q, q, q, state))
                        .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("decode");
            }
        }
    }
}
