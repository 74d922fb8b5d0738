package dev.based4j.onnx;

import static dev.based4j.onnx.Fixtures.download;
import static dev.based4j.onnx.Fixtures.gaussian;
import static dev.based4j.onnx.Fixtures.maxAbs;
import static dev.based4j.onnx.Fixtures.relativeError;
import static dev.based4j.onnx.Fixtures.tolerance;
import static dev.based4j.onnx.Fixtures.upload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backends;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.attention.SlidingWindowSpec;
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
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
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
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Every kernel of the onnx backend against the float64 reference, in F32 and F64, on seeded random inputs. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OnnxKernelsTest {
    private Backend backend;

    @BeforeAll
    void open() {
        backend = Backends.select("onnx");
    }

    @AfterAll
    void close() {
        backend.close();
    }

    static List<FeatureMap> maps() {
        return List.of(new Taylor(16), new Taylor(8), new Identity(8), new Relu(8), new PosElu(8), new Square(8),
                new CosFormer(8), Performer.orthogonal(8, 32, 5), AllPoly.random(8, 6));
    }

    static Stream<Arguments> mapsAndTypes() {
        return maps().stream().flatMap(m -> Stream.of(Arguments.of(m, DType.F32), Arguments.of(m, DType.F64)));
    }

    private void check(String what, double[] out, double[] ref, DType dtype, boolean longOrFused, long seed) {
        if (!what.startsWith("far ")) {
            // the far state is legitimately zero while every key still fits in the window
            assertThat(maxAbs(ref)).as("%s: reference is not all zeros (seed %d)", what, seed).isGreaterThan(1e-3);
        }
        assertThat(relativeError(out, ref))
                .as("%s: max relative error vs float64 reference (%s, seed %d)", what, dtype.label(), seed)
                .isLessThanOrEqualTo(tolerance(dtype, longOrFused));
    }

    @Nested
    class FeatureMaps {
        @ParameterizedTest
        @MethodSource("dev.based4j.onnx.OnnxKernelsTest#mapsAndTypes")
        void matchTheReferenceOnEveryRow(FeatureMap map, DType dtype) {
            long seed = 100 + map.kind().ordinal();
            double[] x = gaussian(new Random(seed), 2 * 3 * 5 * map.inputDim(), 1.0, dtype);
            try (Tensor xt = upload(backend, x, dtype, 2, 3, 5, map.inputDim()); Tensor out = backend.featureMap(map, xt)) {
                check("phi " + map.kind().label(), download(backend, out), Reference.featureMap(map, x, 6, 5), dtype, false, seed);
            }
        }
    }

    @Nested
    class LinearAttention {
        private static final int B = 2;
        private static final int H = 3;
        private static final int DV = 8;

        /** Prefills {@code lens} one call after the other on the backend and the reference, checking y and state. */
        private void runCalls(LinearAttentionSpec spec, DType dtype, long seed, boolean decodeLast, int... lens) {
            Random random = new Random(seed);
            int f = spec.featureDim();
            int d = spec.expandedDim();
            double[] kv = new double[B * H * DV * d];
            double[] z = new double[B * H * d];
            try (LinearAttentionState state = LinearAttentionState.zeros(backend, B, H, d, DV, dtype)) {
                for (int call = 0; call < lens.length; call++) {
                    int n = lens[call];
                    double[] q = gaussian(random, B * H * n * f, 0.5, dtype);
                    double[] k = gaussian(random, B * H * n * f, 0.5, dtype);
                    double[] v = gaussian(random, B * H * n * DV, 1.0, dtype);
                    double[] ref = Reference.linearAttention(spec, q, k, v, B, H, n, DV, kv, z);
                    boolean decode = decodeLast && call == lens.length - 1;
                    try (Tensor qt = upload(backend, q, dtype, B, H, n, f); Tensor kt = upload(backend, k, dtype, B, H, n, f);
                            Tensor vt = upload(backend, v, dtype, B, H, n, DV);
                            Tensor y = decode ? backend.linearAttentionDecode(spec, qt, kt, vt, state)
                                    : backend.linearAttentionPrefill(spec, qt, kt, vt, state)) {
                        boolean longSeq = n > 64;
                        check("y of call " + call, download(backend, y), ref, dtype, longSeq, seed);
                        check("kv after call " + call, download(backend, state.kv()), kv, dtype, true, seed);
                        check("z after call " + call, download(backend, state.z()), z, dtype, true, seed);
                    }
                }
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void quadraticContinuesFromANonEmptyState(DType dtype) {
            runCalls(LinearAttentionSpec.of(new Taylor(8)).withAlgorithm(PrefillAlgorithm.QUADRATIC), dtype, 11, false, 7, 13);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void chunkedPadsTheLastChunkAndContinues(DType dtype) {
            runCalls(LinearAttentionSpec.of(new Taylor(8)).withAlgorithm(PrefillAlgorithm.CHUNKED).withChunkSize(16),
                    dtype, 12, false, 37, 16, 5);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void autoPicksTheChunkedFormForLongSequences(DType dtype) {
            runCalls(LinearAttentionSpec.of(new Taylor(16)), dtype, 13, false, 300);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void decodeContinuesExactlyWherePrefillStopped(DType dtype) {
            runCalls(LinearAttentionSpec.of(new Taylor(8)), dtype, 14, true, 9, 1);
        }

        @ParameterizedTest
        @MethodSource("dev.based4j.onnx.OnnxKernelsTest#mapsAndTypes")
        void everyFeatureMapPrefillsInBothForms(FeatureMap map, DType dtype) {
            LinearAttentionSpec spec = new LinearAttentionSpec(map, LinearAttentionSpec.DEFAULT_EPS, PrefillAlgorithm.AUTO,
                    LinearAttentionSpec.DEFAULT_CHUNK, map.signedDotProduct());
            long seed = 200 + map.kind().ordinal();
            if (map.signedDotProduct()) {
                // keep the normaliser away from zero: positive inputs for Identity, as the golden cases do
                runPositive(spec.withAlgorithm(PrefillAlgorithm.QUADRATIC), dtype, seed);
                runPositive(spec.withAlgorithm(PrefillAlgorithm.CHUNKED).withChunkSize(8), dtype, seed);
                return;
            }
            runCalls(spec.withAlgorithm(PrefillAlgorithm.QUADRATIC), dtype, seed, false, 19);
            runCalls(spec.withAlgorithm(PrefillAlgorithm.CHUNKED).withChunkSize(8), dtype, seed, false, 19);
        }

        private void runPositive(LinearAttentionSpec spec, DType dtype, long seed) {
            Random random = new Random(seed);
            int f = spec.featureDim();
            int d = spec.expandedDim();
            int n = 19;
            double[] q = positive(random, B * H * n * f, dtype);
            double[] k = positive(random, B * H * n * f, dtype);
            double[] v = gaussian(random, B * H * n * DV, 1.0, dtype);
            double[] kv = new double[B * H * DV * d];
            double[] z = new double[B * H * d];
            double[] ref = Reference.linearAttention(spec, q, k, v, B, H, n, DV, kv, z);
            try (LinearAttentionState state = LinearAttentionState.zeros(backend, B, H, d, DV, dtype);
                    Tensor qt = upload(backend, q, dtype, B, H, n, f); Tensor kt = upload(backend, k, dtype, B, H, n, f);
                    Tensor vt = upload(backend, v, dtype, B, H, n, DV);
                    Tensor y = backend.linearAttentionPrefill(spec, qt, kt, vt, state)) {
                check("y " + spec.featureMap().kind().label() + " " + spec.algorithm(), download(backend, y), ref, dtype, true, seed);
            }
        }

        private double[] positive(Random random, int n, DType dtype) {
            double[] x = new double[n];
            for (int i = 0; i < n; i++) {
                x[i] = 0.05 + 0.95 * random.nextDouble();
                if (dtype == DType.F32) {
                    x[i] = (float) x[i];
                }
            }
            return x;
        }
    }

    @Nested
    class SlidingWindow {
        private static final int B = 2;
        private static final int H = 2;
        private static final int DK = 8;
        private static final int DV = 6;

        /** Calls of lengths {@code lens} (1 = decode) on the backend and the reference, checking y and the ring. */
        private void runCalls(SlidingWindowSpec spec, int capacity, DType dtype, long seed, int... lens) {
            Random random = new Random(seed);
            double[] ringK = new double[B * H * capacity * DK];
            double[] ringV = new double[B * H * capacity * DV];
            long position = 0;
            try (WindowState state = spec.isUnbounded()
                    ? WindowState.growing(backend, B, H, DK, DV, capacity, dtype)
                    : WindowState.empty(backend, B, H, DK, DV, spec.lookback(), dtype)) {
                for (int call = 0; call < lens.length; call++) {
                    int n = lens[call];
                    double[] q = gaussian(random, B * H * n * DK, 1.0, dtype);
                    double[] k = gaussian(random, B * H * n * DK, 1.0, dtype);
                    double[] v = gaussian(random, B * H * n * DV, 1.0, dtype);
                    double[] ref = Reference.slidingWindow(spec, q, k, v, B, H, n, DK, DV, ringK, ringV, capacity, position);
                    position += n;
                    try (Tensor qt = upload(backend, q, dtype, B, H, n, DK); Tensor kt = upload(backend, k, dtype, B, H, n, DK);
                            Tensor vt = upload(backend, v, dtype, B, H, n, DV);
                            Tensor y = n == 1 ? backend.slidingWindowDecode(spec, qt, kt, vt, state)
                                    : backend.slidingWindowPrefill(spec, qt, kt, vt, state)) {
                        check("y of call " + call, download(backend, y), ref, dtype, false, seed);
                        check("ring keys after call " + call, download(backend, state.keys()), ringK, dtype, false, seed);
                        check("ring values after call " + call, download(backend, state.values()), ringV, dtype, false, seed);
                    }
                }
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void ringBufferWrapsAcrossPrefillAndDecode(DType dtype) {
            runCalls(SlidingWindowSpec.of(4), 5, dtype, 21, 3, 7, 1, 1, 1, 2);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void longSequencesUseQueryBlocks(DType dtype) {
            runCalls(SlidingWindowSpec.of(16), 17, dtype, 22, 300, 150, 1);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void zeroLookbackSeesOnlyItself(DType dtype) {
            runCalls(SlidingWindowSpec.of(0), 1, dtype, 23, 4, 200, 1);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void unboundedAttentionFillsTheGrowingCache(DType dtype) {
            runCalls(SlidingWindowSpec.unbounded(), 40, dtype, 24, 10, 20, 1, 1);
        }
    }

    @Nested
    class BasedAttention {
        private static final int B = 2;
        private static final int H = 2;
        private static final int DV = 6;

        private void runCalls(BasedAttentionSpec spec, DType dtype, long seed, double qkStd, int... lens) {
            Random random = new Random(seed);
            int f = spec.featureMap().inputDim();
            int d = spec.featureMap().outputDim();
            int cap = spec.lookback() + 1;
            double[] kv = new double[B * H * DV * d];
            double[] z = new double[B * H * d];
            double[] ringK = new double[B * H * cap * f];
            double[] ringV = new double[B * H * cap * DV];
            long position = 0;
            try (BasedAttentionState state = BasedAttentionState.empty(backend, B, H, f, d, DV, spec.lookback(), dtype)) {
                for (int call = 0; call < lens.length; call++) {
                    int n = lens[call];
                    double[] q = gaussian(random, B * H * n * f, qkStd, dtype);
                    double[] k = gaussian(random, B * H * n * f, qkStd, dtype);
                    double[] v = gaussian(random, B * H * n * DV, 1.0, dtype);
                    double[] ref = Reference.basedAttention(spec, q, k, v, B, H, n, DV, kv, z, ringK, ringV, position);
                    position += n;
                    try (Tensor qt = upload(backend, q, dtype, B, H, n, f); Tensor kt = upload(backend, k, dtype, B, H, n, f);
                            Tensor vt = upload(backend, v, dtype, B, H, n, DV);
                            Tensor y = n == 1 ? backend.basedAttentionDecode(spec, qt, kt, vt, state)
                                    : backend.basedAttentionPrefill(spec, qt, kt, vt, state)) {
                        check("y of call " + call, download(backend, y), ref, dtype, true, seed);
                        check("far kv after call " + call, download(backend, state.far().kv()), kv, dtype, true, seed);
                        check("far z after call " + call, download(backend, state.far().z()), z, dtype, true, seed);
                        check("ring keys after call " + call, download(backend, state.near().keys()), ringK, dtype, false, seed);
                        check("ring values after call " + call, download(backend, state.near().values()), ringV, dtype, false, seed);
                    }
                }
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void shortCallsAndDecodeMoveKeysFromTheRingIntoTheFarState(DType dtype) {
            runCalls(BasedAttentionSpec.of(new Taylor(8), 3), dtype, 31, 0.7, 2, 9, 1, 1, 5);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void longCallsUseBlocksAndChunks(DType dtype) {
            runCalls(BasedAttentionSpec.of(new Taylor(16), 16), dtype, 32, 0.7, 300, 140, 1);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void largeLogitsStayFinite(DType dtype) {
            runCalls(BasedAttentionSpec.of(new Taylor(16), 8), dtype, 33, 4.0, 20, 150, 1);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void otherPositiveMapsWork(DType dtype) {
            runCalls(BasedAttentionSpec.of(new PosElu(8), 4), dtype, 34, 0.7, 12, 200, 1);
        }
    }

    @Nested
    class CausalConv {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillThenDecodeShiftsTheWindow(DType dtype) {
            run(dtype, 41, 3, 6, 1, 1, 2);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void longKernelsGatherTheirWindowsAndGiveTheSameResult(DType dtype) {
            // above ConvKernels.UNROLLED_TAPS the graph gathers windows instead of unrolling one slice per tap
            run(dtype, 43, 21, 30, 1, 4, 1);
        }

        private void run(DType dtype, long seed, int kernel, int... lens) {
            Random random = new Random(seed);
            int b = 2;
            int ch = 5;
            double[] w = gaussian(random, ch * kernel, 1.0, dtype);
            double[] window = new double[b * ch * kernel];
            try (ConvState state = ConvState.zeros(backend, b, ch, kernel, dtype); Tensor wt = upload(backend, w, dtype, ch, kernel)) {
                for (int n : lens) {
                    double[] x = gaussian(random, b * n * ch, 1.0, dtype);
                    double[] ref = Reference.causalConv(x, b, n, ch, w, kernel, window);
                    try (Tensor xt = upload(backend, x, dtype, b, n, ch); Tensor y = backend.causalConv(xt, wt, state)) {
                        check("conv y (" + n + " tokens)", download(backend, y), ref, dtype, false, seed);
                        check("conv window", download(backend, state.window()), window, dtype, false, seed);
                    }
                }
            }
        }
    }

    @Nested
    class ScratchBudget {
        @Test
        void fullAttentionFarBeyondTheMachinesMemoryIsRefusedBeforeOnnxRuntimeAllocates() {
            int n = 300_000; // scores [1, 1, 300000, 600000]: 720 GB of f32
            double[] x = new double[n];
            java.util.Arrays.fill(x, 0.5);
            SlidingWindowSpec spec = SlidingWindowSpec.unbounded();
            try (WindowState state = WindowState.growing(backend, 1, 1, 1, 1, n, DType.F32);
                    Tensor q = upload(backend, x, DType.F32, 1, 1, n, 1);
                    Tensor out = backend.allocate(q.shape(), DType.F32)) {
                assertThatThrownBy(() -> backend.slidingWindowPrefill(spec, q, q, q, state, out))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("q: the onnx backend's sliding-window prefill (full form)")
                        .hasMessageContaining("scores [1, 1, 300000, 600000] of f32")
                        .hasMessageContaining("above its budget");
                assertThat(state.position()).as("a refused call leaves the state where it was").isZero();
            }
        }
    }

    @Nested
    class Plumbing {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void linearWithAndWithoutBias(DType dtype) {
            long seed = 51;
            Random r = new Random(seed);
            double[] x = gaussian(r, 2 * 3 * 7, 1.0, dtype);
            double[] w = gaussian(r, 5 * 7, 1.0, dtype);
            double[] bias = gaussian(r, 5, 1.0, dtype);
            try (Tensor xt = upload(backend, x, dtype, 2, 3, 7); Tensor wt = upload(backend, w, dtype, 5, 7);
                    Tensor bt = upload(backend, bias, dtype, 5); Tensor y1 = backend.linear(xt, wt, bt);
                    Tensor y2 = backend.linear(xt, wt, null)) {
                check("linear+bias", download(backend, y1), Reference.linear(x, 6, 7, w, 5, bias), dtype, false, seed);
                check("linear", download(backend, y2), Reference.linear(x, 6, 7, w, 5, null), dtype, false, seed);
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void rmsNormSiluGelu(DType dtype) {
            long seed = 52;
            Random r = new Random(seed);
            double[] x = gaussian(r, 4 * 9, 2.5, dtype);
            double[] w = gaussian(r, 9, 1.0, dtype);
            try (Tensor xt = upload(backend, x, dtype, 4, 9); Tensor wt = upload(backend, w, dtype, 9);
                    Tensor n = backend.rmsNorm(xt, wt, 1e-5); Tensor s = backend.silu(xt); Tensor g = backend.gelu(xt)) {
                check("rmsNorm", download(backend, n), Reference.rmsNorm(x, 4, 9, w, 1e-5), dtype, false, seed);
                check("silu", download(backend, s), Reference.silu(x), dtype, false, seed);
                check("gelu", download(backend, g), Reference.gelu(x), dtype, false, seed);
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void geluCoversBothBranchesOfErf(DType dtype) {
            double[] x = new double[81];
            for (int i = 0; i < x.length; i++) {
                x[i] = -10 + 0.25 * i;
            }
            try (Tensor xt = upload(backend, x, dtype, 81); Tensor g = backend.gelu(xt)) {
                check("gelu on [-10, 10]", download(backend, g), Reference.gelu(x), dtype, false, 0);
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void addMultiplyEmbedding(DType dtype) {
            long seed = 53;
            Random r = new Random(seed);
            double[] a = gaussian(r, 24, 1.0, dtype);
            double[] b = gaussian(r, 24, 1.0, dtype);
            double[] table = gaussian(r, 10 * 4, 1.0, dtype);
            int[] ids = {3, 0, 9, 3, 7, 1};
            double[] sum = new double[24];
            double[] prod = new double[24];
            for (int i = 0; i < 24; i++) {
                sum[i] = a[i] + b[i];
                prod[i] = a[i] * b[i];
            }
            try (Tensor at = upload(backend, a, dtype, 2, 3, 4); Tensor bt = upload(backend, b, dtype, 2, 3, 4);
                    Tensor tt = upload(backend, table, dtype, 10, 4); Tensor s = backend.add(at, bt);
                    Tensor p = backend.multiply(at, bt); Tensor e = backend.embedding(tt, ids, 2, 3)) {
                check("add", download(backend, s), sum, dtype, false, seed);
                check("multiply", download(backend, p), prod, dtype, false, seed);
                check("embedding", download(backend, e), Reference.embedding(table, 4, ids), dtype, false, seed);
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void rotaryAtLargePositionsSplitMergeSlice(DType dtype) {
            long seed = 54;
            Random r = new Random(seed);
            double[] x = gaussian(r, 2 * 3 * 5 * 8, 1.0, dtype);
            try (Tensor xt = upload(backend, x, dtype, 2, 3, 5, 8); Tensor ro = backend.rotary(xt, 3000, 6, 10000.0);
                    Tensor flat = upload(backend, x, dtype, 2, 5, 24); Tensor split = backend.splitHeads(flat, 3);
                    Tensor merged = backend.mergeHeads(xt); Tensor sl = backend.slice(flat, 5, 17)) {
                check("rotary", download(backend, ro), Reference.rotary(x, 6, 5, 8, 3000, 6, 10000.0), dtype, false, seed);
                check("splitHeads", download(backend, split), Reference.splitHeads(x, 2, 5, 3, 8), dtype, false, seed);
                check("mergeHeads", download(backend, merged), Reference.mergeHeads(x, 2, 3, 5, 8), dtype, false, seed);
                check("slice", download(backend, sl), Reference.slice(x, 10, 24, 5, 12), dtype, false, seed);
            }
        }
    }
}
