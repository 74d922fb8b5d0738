package dev.based4j.opencl;

import static dev.based4j.opencl.OpenClTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.reference.Reference;
import dev.based4j.Backend;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.OptionalDouble;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class SlidingWindowKernelsTest {
    private static final int BATCH = 2;
    private static final int HEADS = 2;
    private static final int DK = 16;
    private static final int DV = 24;

    /**
     * Runs calls of the given lengths (1 = decode) on the device and the reference, both continuing from their
     * ring buffers, and returns the largest relative error of outputs and final ring.
     *
     * @param maxTokens capacity of the growing cache when the spec is unbounded
     */
    private static double runCalls(SlidingWindowSpec spec, DType dtype, long seed, int[] seqs, int maxTokens) {
        Backend b = backend();
        assumePrecision(b, dtype);
        Random r = new Random(seed);
        double worst = 0;
        try (WindowState state = spec.isUnbounded()
                ? WindowState.growing(b, BATCH, HEADS, DK, DV, maxTokens, dtype)
                : WindowState.empty(b, BATCH, HEADS, DK, DV, spec.lookback(), dtype)) {
            int cap = state.capacity();
            double[] ringK = new double[BATCH * HEADS * cap * DK];
            double[] ringV = new double[BATCH * HEADS * cap * DV];
            long position = 0;
            for (int seq : seqs) {
                double[] q = as(random(r, BATCH * HEADS * seq * DK, 1), dtype);
                double[] k = as(random(r, BATCH * HEADS * seq * DK, 1), dtype);
                double[] v = as(random(r, BATCH * HEADS * seq * DV, 1), dtype);
                double[] ref = Reference.slidingWindow(spec, q, k, v, BATCH, HEADS, seq, DK, DV, ringK, ringV, cap,
                        position);
                try (Tensor tq = upload(b, q, dtype, BATCH, HEADS, seq, DK);
                        Tensor tk = upload(b, k, dtype, BATCH, HEADS, seq, DK);
                        Tensor tv = upload(b, v, dtype, BATCH, HEADS, seq, DV);
                        Tensor out = seq == 1 ? b.slidingWindowDecode(spec, tq, tk, tv, state)
                                : b.slidingWindowPrefill(spec, tq, tk, tv, state)) {
                    assertThat(maxAbs(ref)).as("reference output, seed " + seed).isGreaterThan(0.05);
                    worst = Math.max(worst, relativeError(download(b, out), ref));
                }
                position += seq;
            }
            worst = Math.max(worst, relativeError(download(b, state.keys()), ringK));
            worst = Math.max(worst, relativeError(download(b, state.values()), ringV));
            assertThat(state.position()).isEqualTo(position);
        }
        return worst;
    }

    @Nested
    class Prefill {
        @ParameterizedTest(name = "lookback {0}, {1}")
        @CsvSource({"0, F32", "0, F64", "4, F32", "4, F64", "64, F32", "64, F64", "200, F32", "200, F64"})
        void matchesTheReferenceWhenTheCallIsLongerThanTheRing(int lookback, DType dtype) {
            double err = runCalls(SlidingWindowSpec.of(lookback), dtype, 200 + lookback, new int[] {100}, 0);
            assertThat(err).as("lookback " + lookback + ", 100 tokens, seed " + (200 + lookback))
                    .isLessThan(tolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void continuesFromTheRingAcrossCalls(DType dtype) {
            double err = runCalls(SlidingWindowSpec.of(6), dtype, 301, new int[] {3, 5, 20, 2, 7}, 0);
            assertThat(err).as("five calls around a ring of 7, seed 301").isLessThan(tolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void usesAGivenScale(DType dtype) {
            var spec = new SlidingWindowSpec(9, OptionalDouble.of(0.7));
            double err = runCalls(spec, dtype, 311, new int[] {30}, 0);
            assertThat(err).as("scale 0.7, seed 311").isLessThan(tolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void unboundedAttentionGrowsItsCache(DType dtype) {
            double err = runCalls(SlidingWindowSpec.unbounded(), dtype, 321, new int[] {40, 25, 1, 1}, 80);
            assertThat(err).as("full causal attention over 67 of 80 cache slots, seed 321").isLessThan(tolerance(dtype));
        }
    }

    @Nested
    class Decode {
        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void continuesExactlyWherePrefillStopped(DType dtype) {
            double err = runCalls(SlidingWindowSpec.of(4), dtype, 401, new int[] {9, 1, 1, 1, 1, 1, 1, 1}, 0);
            assertThat(err).as("prefill 9 then decode 7 around a ring of 5, seed 401").isLessThan(tolerance(dtype));
        }

        @ParameterizedTest(name = "{0}")
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void decodesFromAnEmptyRing(DType dtype) {
            double err = runCalls(SlidingWindowSpec.of(2), dtype, 411, new int[] {1, 1, 1, 1, 1}, 0);
            assertThat(err).as("five decode steps from empty, seed 411").isLessThan(tolerance(dtype));
        }
    }
}
