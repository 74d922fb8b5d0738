package dev.based4j.opencl;

import static dev.based4j.opencl.OpenClTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Taylor;
import dev.based4j.reference.Reference;
import dev.based4j.Backend;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class BasedAttentionKernelsTest {
    private static final int BATCH = 2;
    private static final int HEADS = 2;
    private static final int DV = 16;

    /** Calls of the given lengths (1 = decode) on device and reference; the largest relative error. */
    private static double runCalls(BasedAttentionSpec spec, DType dtype, long seed, int[] seqs, double qkScale) {
        Backend b = backend();
        assumePrecision(b, dtype);
        Random r = new Random(seed);
        FeatureMap map = spec.featureMap();
        int f = map.inputDim();
        int e = map.outputDim();
        int cap = spec.lookback() + 1;
        double[] kv = new double[BATCH * HEADS * DV * e];
        double[] z = new double[BATCH * HEADS * e];
        double[] ringK = new double[BATCH * HEADS * cap * f];
        double[] ringV = new double[BATCH * HEADS * cap * DV];
        double worst = 0;
        long position = 0;
        try (BasedAttentionState state = BasedAttentionState.empty(b, BATCH, HEADS, f, e, DV, spec.lookback(), dtype)) {
            for (int seq : seqs) {
                double[] q = as(random(r, BATCH * HEADS * seq * f, qkScale), dtype);
                double[] k = as(random(r, BATCH * HEADS * seq * f, qkScale), dtype);
                double[] v = as(random(r, BATCH * HEADS * seq * DV, 1), dtype);
                double[] ref = Reference.basedAttention(spec, q, k, v, BATCH, HEADS, seq, DV, kv, z, ringK, ringV,
                        position);
                try (Tensor tq = upload(b, q, dtype, BATCH, HEADS, seq, f);
                        Tensor tk = upload(b, k, dtype, BATCH, HEADS, seq, f);
                        Tensor tv = upload(b, v, dtype, BATCH, HEADS, seq, DV);
                        Tensor out = seq == 1 ? b.basedAttentionDecode(spec, tq, tk, tv, state)
                                : b.basedAttentionPrefill(spec, tq, tk, tv, state)) {
                    assertThat(maxAbs(ref)).as("reference output, seed " + seed).isGreaterThan(0.05);
                    worst = Math.max(worst, relativeError(download(b, out), ref));
                }
                position += seq;
            }
            worst = Math.max(worst, relativeError(download(b, state.far().kv()), kv));
            worst = Math.max(worst, relativeError(download(b, state.far().z()), z));
            worst = Math.max(worst, relativeError(download(b, state.near().keys()), ringK));
            worst = Math.max(worst, relativeError(download(b, state.near().values()), ringV));
        }
        return worst;
    }

    @Nested
    class Prefill {
        @ParameterizedTest(name = "lookback {0}, {1}")
        @CsvSource({"0, F32", "0, F64", "3, F32", "3, F64", "16, F32", "16, F64", "64, F32", "64, F64"})
        void matchesTheReferenceForWindowsShorterAndLongerThanTheCall(int lookback, DType dtype) {
            var spec = BasedAttentionSpec.of(new Taylor(16), lookback);
            double err = runCalls(spec, dtype, 500 + lookback, new int[] {50}, 1);
            assertThat(err).as("lookback " + lookback + ", 50 tokens, seed " + (500 + lookback))
                    .isLessThan(longTolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void continuesAcrossCallsThroughRingAndFarState(DType dtype) {
            var spec = BasedAttentionSpec.of(new Taylor(8), 5);
            double err = runCalls(spec, dtype, 601, new int[] {2, 3, 9, 1, 20, 4}, 1);
            assertThat(err).as("six calls, lookback 5, seed 601").isLessThan(longTolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void staysFiniteWithLargeScores(DType dtype) {
            var spec = BasedAttentionSpec.of(new Taylor(16), 8);
            double err = runCalls(spec, dtype, 611, new int[] {40, 1, 1}, 4);
            assertThat(err).as("q, k with std 4 (near logits ~ 60), seed 611").isLessThan(longTolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void acceptsOtherPositiveFeatureMaps(DType dtype) {
            assertThat(runCalls(BasedAttentionSpec.of(new PosElu(8), 4), dtype, 621, new int[] {20, 1}, 1))
                    .as("poselu, seed 621").isLessThan(longTolerance(dtype));
            assertThat(runCalls(BasedAttentionSpec.of(Performer.orthogonal(8, 32, 2), 4), dtype, 622,
                    new int[] {20, 1}, 1)).as("performer, seed 622").isLessThan(longTolerance(dtype));
        }
    }

    @Nested
    class Decode {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void continuesExactlyWherePrefillStopped(DType dtype) {
            var spec = BasedAttentionSpec.of(new Taylor(16), 3);
            double err = runCalls(spec, dtype, 701, new int[] {6, 1, 1, 1, 1, 1, 1}, 1);
            assertThat(err).as("prefill 6 then decode 6, lookback 3, seed 701").isLessThan(longTolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void decodesFromAnEmptyState(DType dtype) {
            var spec = BasedAttentionSpec.of(new Taylor(8), 1);
            double err = runCalls(spec, dtype, 711, new int[] {1, 1, 1, 1, 1}, 1);
            assertThat(err).as("five decode steps from empty, lookback 1, seed 711").isLessThan(longTolerance(dtype));
        }
    }
}
