package dev.based4j.cuda;

import static dev.based4j.cuda.CudaTestSupport.assertClose;
import static dev.based4j.cuda.CudaTestSupport.download;
import static dev.based4j.cuda.CudaTestSupport.longSeq;
import static dev.based4j.cuda.CudaTestSupport.random;
import static dev.based4j.cuda.CudaTestSupport.single;
import static dev.based4j.cuda.CudaTestSupport.uniform;
import static dev.based4j.cuda.CudaTestSupport.upload;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every kernel family of the CUDA backend against the float64 reference on seeded random inputs, in both
 * precisions, through the paths the dispatch chooses (Taylor fused kernels, the generic path, several chunks and
 * column tiles, calls continuing from a state). Runs wherever a CUDA driver and device are usable (an NVIDIA GPU,
 * or the CPU emulator of the test profile {@code cuda-emulator}); skipped with the probe's reason elsewhere.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaKernelsTest {
    private Backend backend;

    /** Each test is reported skipped, with the probe's reason, where no CUDA driver and device are usable. */
    @BeforeEach
    void open() {
        backend = CudaTestSupport.backendOrSkip();
    }

    private Tensor up(double[] data, DType t, int... dims) {
        return upload(backend, data, t, dims);
    }

    private double[] down(Tensor t) {
        return download(backend, t);
    }

    // ================================================================================ feature maps

    @Nested
    class FeatureMaps {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void everyMapMatchesItsReference(DType t) {
            long seed = 11;
            Random r = new Random(seed);
            int d = 8;
            List<FeatureMap> maps = List.of(new Taylor(d), new Identity(d), new Relu(d), new PosElu(d), new Square(d),
                    new CosFormer(d), Performer.orthogonal(d, 32, 5), AllPoly.random(d, 6));
            for (FeatureMap map : maps) {
                double[] x = random(r, 2 * 3 * 7 * d, 1.5, t);
                try (Tensor xt = up(x, t, 2, 3, 7, d); Tensor out = backend.featureMap(map, xt)) {
                    assertClose(map.kind().label(), seed, down(out), Reference.featureMap(map, x, 6, 7), single(t));
                }
            }
        }
    }

    // ================================================================================ linear attention

    /** Runs prefill calls of the given lengths then decode steps, comparing outputs and the final state. */
    private void linearAttentionCase(String what, long seed, LinearAttentionSpec spec, DType t, int b, int h, int dv,
            int[] prefills, int decodes, double inputScale, boolean positive) {
        Random r = new Random(seed);
        int f = spec.featureDim();
        int dd = spec.expandedDim();
        double[] kvRef = new double[b * h * dv * dd];
        double[] zRef = new double[b * h * dd];
        List<Integer> calls = new ArrayList<>();
        for (int p : prefills) {
            calls.add(p);
        }
        for (int i = 0; i < decodes; i++) {
            calls.add(-1);
        }
        try (LinearAttentionState state = LinearAttentionState.zeros(backend, b, h, dd, dv, t)) {
            int call = 0;
            for (int c : calls) {
                boolean decode = c < 0;
                int seq = decode ? 1 : c;
                double[] q = positive ? uniform(r, b * h * seq * f, 0.05, 1, t) : random(r, b * h * seq * f, inputScale, t);
                double[] k = positive ? uniform(r, b * h * seq * f, 0.05, 1, t) : random(r, b * h * seq * f, inputScale, t);
                double[] v = random(r, b * h * seq * dv, 1, t);
                double[] ref = Reference.linearAttention(spec, q, k, v, b, h, seq, dv, kvRef, zRef);
                try (Tensor qt = up(q, t, b, h, seq, f); Tensor kt = up(k, t, b, h, seq, f);
                        Tensor vt = up(v, t, b, h, seq, dv);
                        Tensor out = decode ? backend.linearAttentionDecode(spec, qt, kt, vt, state)
                                : backend.linearAttentionPrefill(spec, qt, kt, vt, state)) {
                    assertClose(what + " call " + call + (decode ? " (decode)" : " (prefill " + seq + ")"), seed,
                            down(out), ref, longSeq(t));
                }
                call++;
            }
            assertClose(what + " state kv", seed, down(state.kv()), kvRef, longSeq(t));
            assertClose(what + " state z", seed, down(state.z()), zRef, longSeq(t));
        }
    }

    @Nested
    class LinearAttention {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void taylorChunkedRunsManyChunksAndContinuesFromTheState(DType t) {
            LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(16)).withAlgorithm(PrefillAlgorithm.CHUNKED);
            linearAttentionCase("taylor f16 chunked", 101, spec, t, 2, 2, 64, new int[] {150, 41}, 0, 1.0, false);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void taylorChunkedSplitsWideValuesOverColumnBlocks(DType t) {
            LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(8)).withAlgorithm(PrefillAlgorithm.CHUNKED);
            linearAttentionCase("taylor f8 dv80 chunked", 102, spec, t, 1, 3, 80, new int[] {70, 5}, 2, 1.0, false);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void taylorQuadraticFormMatches(DType t) {
            LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(16)).withAlgorithm(PrefillAlgorithm.QUADRATIC);
            linearAttentionCase("taylor f16 quadratic", 103, spec, t, 1, 2, 40, new int[] {130, 70}, 1, 1.0, false);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void taylorRecurrentFormMatches(DType t) {
            LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(4)).withAlgorithm(PrefillAlgorithm.RECURRENT);
            linearAttentionCase("taylor f4 recurrent", 104, spec, t, 2, 1, 8, new int[] {12}, 0, 1.0, false);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void decodeContinuesExactlyWherePrefillStopped(DType t) {
            LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(16));
            linearAttentionCase("taylor f16 auto", 105, spec, t, 2, 3, 64, new int[] {33}, 4, 1.0, false);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void genericMapsPrefillAndDecode(DType t) {
            long seed = 106;
            int d = 8;
            for (FeatureMap map : List.of(new PosElu(d), new Relu(d), new Square(d), Performer.orthogonal(d, 24, 3))) {
                linearAttentionCase(map.kind().label(), seed, LinearAttentionSpec.of(map), t, 1, 2, 12,
                        new int[] {45, 30}, 2, 1.0, false);
            }
            LinearAttentionSpec identity = new LinearAttentionSpec(new Identity(d), LinearAttentionSpec.DEFAULT_EPS,
                    PrefillAlgorithm.AUTO, LinearAttentionSpec.DEFAULT_CHUNK, true);
            linearAttentionCase("identity", seed, identity, t, 1, 2, 12, new int[] {37}, 2, 1.0, true);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void cosFormerPrefillsAFreshState(DType t) {
            linearAttentionCase("cosformer", 107, LinearAttentionSpec.of(new CosFormer(8)), t, 2, 1, 12,
                    new int[] {40}, 0, 1.0, false);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void taylorWiderThanTheFusedKernelsRunsGeneric(DType t) {
            linearAttentionCase("taylor f20 generic", 108, LinearAttentionSpec.of(new Taylor(20)), t, 1, 1, 16,
                    new int[] {35}, 2, 0.7, false);
        }
    }

    // ================================================================================ sliding window

    private void windowCase(String what, long seed, int lookback, boolean unbounded, DType t, int b, int h, int dk,
            int dv, int[] prefills, int decodes) {
        Random r = new Random(seed);
        SlidingWindowSpec spec = unbounded ? SlidingWindowSpec.unbounded() : SlidingWindowSpec.of(lookback);
        int total = decodes;
        for (int p : prefills) {
            total += p;
        }
        int cap = unbounded ? total : lookback + 1;
        double[] ringK = new double[b * h * cap * dk];
        double[] ringV = new double[b * h * cap * dv];
        try (WindowState state = unbounded ? WindowState.growing(backend, b, h, dk, dv, total, t)
                : WindowState.empty(backend, b, h, dk, dv, lookback, t)) {
            long pos = 0;
            List<Integer> calls = new ArrayList<>();
            for (int p : prefills) {
                calls.add(p);
            }
            for (int i = 0; i < decodes; i++) {
                calls.add(-1);
            }
            int call = 0;
            for (int c : calls) {
                boolean decode = c < 0;
                int seq = decode ? 1 : c;
                double[] q = random(r, b * h * seq * dk, 1.5, t);
                double[] k = random(r, b * h * seq * dk, 1.5, t);
                double[] v = random(r, b * h * seq * dv, 1, t);
                double[] ref = Reference.slidingWindow(spec, q, k, v, b, h, seq, dk, dv, ringK, ringV, cap, pos);
                try (Tensor qt = up(q, t, b, h, seq, dk); Tensor kt = up(k, t, b, h, seq, dk);
                        Tensor vt = up(v, t, b, h, seq, dv);
                        Tensor out = decode ? backend.slidingWindowDecode(spec, qt, kt, vt, state)
                                : backend.slidingWindowPrefill(spec, qt, kt, vt, state)) {
                    assertClose(what + " call " + call, seed, down(out), ref, single(t));
                }
                pos += seq;
                call++;
            }
            assertClose(what + " ring keys", seed, down(state.keys()), ringK, single(t));
            assertClose(what + " ring values", seed, down(state.values()), ringV, single(t));
        }
    }

    @Nested
    class SlidingWindow {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillContinuesFromTheRingAndDecodeFollows(DType t) {
            windowCase("window 5", 201, 5, false, t, 2, 2, 16, 24, new int[] {25, 3, 15}, 6);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void windowLongerThanTheCallAndKeyTilesSpanningBlocks(DType t) {
            windowCase("window 40", 202, 40, false, t, 1, 2, 8, 16, new int[] {70, 10}, 3);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void selfOnlyWindow(DType t) {
            windowCase("window 0", 203, 0, false, t, 1, 1, 4, 4, new int[] {9}, 2);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void unboundedIsFullCausalAttention(DType t) {
            windowCase("unbounded", 204, 0, true, t, 1, 2, 8, 8, new int[] {20, 7}, 3);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void valuesWiderThanOnePassOfColumns(DType t) {
            windowCase("dv 160", 205, 6, false, t, 1, 1, 12, 160, new int[] {20}, 2);
        }
    }

    // ================================================================================ fused layer

    private void basedCase(String what, long seed, FeatureMap map, int lookback, DType t, int b, int h, int dv,
            int[] prefills, int decodes, double scale) {
        Random r = new Random(seed);
        BasedAttentionSpec spec = BasedAttentionSpec.of(map, lookback);
        int f = map.inputDim();
        int dd = map.outputDim();
        int cap = lookback + 1;
        double[] kv = new double[b * h * dv * dd];
        double[] z = new double[b * h * dd];
        double[] ringK = new double[b * h * cap * f];
        double[] ringV = new double[b * h * cap * dv];
        try (BasedAttentionState state = BasedAttentionState.empty(backend, b, h, f, dd, dv, lookback, t)) {
            long pos = 0;
            List<Integer> calls = new ArrayList<>();
            for (int p : prefills) {
                calls.add(p);
            }
            for (int i = 0; i < decodes; i++) {
                calls.add(-1);
            }
            int call = 0;
            for (int c : calls) {
                boolean decode = c < 0;
                int seq = decode ? 1 : c;
                double[] q = random(r, b * h * seq * f, scale, t);
                double[] k = random(r, b * h * seq * f, scale, t);
                double[] v = random(r, b * h * seq * dv, 1, t);
                double[] ref = Reference.basedAttention(spec, q, k, v, b, h, seq, dv, kv, z, ringK, ringV, pos);
                try (Tensor qt = up(q, t, b, h, seq, f); Tensor kt = up(k, t, b, h, seq, f);
                        Tensor vt = up(v, t, b, h, seq, dv);
                        Tensor out = decode ? backend.basedAttentionDecode(spec, qt, kt, vt, state)
                                : backend.basedAttentionPrefill(spec, qt, kt, vt, state)) {
                    assertClose(what + " call " + call, seed, down(out), ref, longSeq(t));
                }
                pos += seq;
                call++;
            }
            assertClose(what + " far kv", seed, down(state.far().kv()), kv, longSeq(t));
            assertClose(what + " far z", seed, down(state.far().z()), z, longSeq(t));
            assertClose(what + " ring keys", seed, down(state.near().keys()), ringK, single(t));
            assertClose(what + " ring values", seed, down(state.near().values()), ringV, single(t));
        }
    }

    @Nested
    class BasedAttention {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillInPiecesThenDecodeMatchesTheDefinition(DType t) {
            basedCase("taylor f8 w8", 301, new Taylor(8), 8, t, 2, 2, 16, new int[] {5, 60, 9}, 12, 1.0);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void largeLogitsStayFinite(DType t) {
            basedCase("taylor f16 w16 big logits", 302, new Taylor(16), 16, t, 1, 2, 32, new int[] {80}, 3, 4.0);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void windowOfOnlyTheCurrentToken(DType t) {
            basedCase("taylor f8 w0", 303, new Taylor(8), 0, t, 1, 2, 16, new int[] {20}, 3, 1.0);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void otherPositiveMapsTakeTheGenericPath(DType t) {
            basedCase("poselu w4", 304, new PosElu(8), 4, t, 1, 2, 12, new int[] {30, 4}, 3, 1.0);
        }
    }

    // ================================================================================ BaseConv

    @Nested
    class CausalConv {
        private void convCase(String what, long seed, DType t, int b, int c, int kernel, int[] calls, boolean inPlace) {
            Random r = new Random(seed);
            double[] w = random(r, c * kernel, 1, t);
            double[] window = new double[b * c * kernel];
            try (Tensor wt = up(w, t, c, kernel); ConvState state = ConvState.zeros(backend, b, c, kernel, t)) {
                int call = 0;
                for (int seq : calls) {
                    double[] x = random(r, b * seq * c, 1, t);
                    double[] ref = Reference.causalConv(x, b, seq, c, w, kernel, window);
                    try (Tensor xt = up(x, t, b, seq, c)) {
                        double[] out;
                        if (inPlace) {
                            backend.causalConv(xt, wt, state, xt);
                            out = down(xt);
                        } else {
                            try (Tensor o = backend.causalConv(xt, wt, state)) {
                                out = down(o);
                            }
                        }
                        assertClose(what + " call " + call, seed, out, ref, single(t));
                    }
                    call++;
                }
                assertClose(what + " window", seed, down(state.window()), window, single(t));
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillThenStepsCarryTheWindow(DType t) {
            convCase("k3", 401, t, 2, 10, 3, new int[] {9, 1, 1, 2, 1}, false);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void callsShorterThanTheKernel(DType t) {
            convCase("k4 short", 402, t, 1, 5, 4, new int[] {2, 1, 3, 1}, false);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void inPlaceReadsEveryInputBeforeOverwritingIt(DType t) {
            convCase("k3 in place", 403, t, 2, 6, 3, new int[] {7, 1, 2}, true);
        }
    }

    // ================================================================================ plumbing

    @Nested
    class Plumbing {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void linearWithAndWithoutBiasOnUnevenTiles(DType t) {
            long seed = 501;
            Random r = new Random(seed);
            int rows = 3 * 70;
            int in = 33;
            int outDim = 65;
            double[] x = random(r, rows * in, 1, t);
            double[] w = random(r, outDim * in, 1, t);
            double[] bias = random(r, outDim, 1, t);
            try (Tensor xt = up(x, t, 3, 70, in); Tensor wt = up(w, t, outDim, in); Tensor bt = up(bias, t, outDim);
                    Tensor y = backend.linear(xt, wt, bt); Tensor y0 = backend.linear(xt, wt, null)) {
                assertClose("linear+bias", seed, down(y), Reference.linear(x, rows, in, w, outDim, bias), single(t));
                assertClose("linear", seed, down(y0), Reference.linear(x, rows, in, w, outDim, null), single(t));
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void rmsNormAndActivations(DType t) {
            long seed = 502;
            Random r = new Random(seed);
            int rows = 4;
            int d = 300;
            double[] x = random(r, rows * d, 3, t);
            double[] w = random(r, d, 1, t);
            double[] y = random(r, rows * d, 3, t);
            try (Tensor xt = up(x, t, rows, d); Tensor wt = up(w, t, d); Tensor yt = up(y, t, rows, d);
                    Tensor norm = backend.rmsNorm(xt, wt, 1e-5); Tensor silu = backend.silu(xt);
                    Tensor gelu = backend.gelu(xt); Tensor sum = backend.add(xt, yt);
                    Tensor prod = backend.multiply(xt, yt)) {
                assertClose("rmsNorm", seed, down(norm), Reference.rmsNorm(x, rows, d, w, 1e-5), single(t));
                assertClose("silu", seed, down(silu), Reference.silu(x), single(t));
                assertClose("gelu", seed, down(gelu), Reference.gelu(x), single(t));
                double[] s = new double[x.length];
                double[] p = new double[x.length];
                for (int i = 0; i < x.length; i++) {
                    s[i] = x[i] + y[i];
                    p[i] = x[i] * y[i];
                }
                assertClose("add", seed, down(sum), s, single(t));
                assertClose("multiply", seed, down(prod), p, single(t));
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void embeddingGathersRows(DType t) {
            long seed = 503;
            Random r = new Random(seed);
            int vocab = 50;
            int d = 24;
            double[] table = random(r, vocab * d, 1, t);
            int[] ids = new int[2 * 7];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.nextInt(vocab);
            }
            try (Tensor tt = up(table, t, vocab, d); Tensor e = backend.embedding(tt, ids, 2, 7)) {
                assertClose("embedding", seed, down(e), Reference.embedding(table, d, ids), 0);
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void rotaryAtLargePositionsWithPassThroughDimensions(DType t) {
            long seed = 504;
            Random r = new Random(seed);
            int rows = 6;
            int seq = 9;
            int d = 12;
            double[] x = random(r, rows * seq * d, 1, t);
            try (Tensor xt = up(x, t, 2, 3, seq, d); Tensor y = backend.rotary(xt, 5000, 8, 10000)) {
                assertClose("rotary", seed, down(y), Reference.rotary(x, rows, seq, d, 5000, 8, 10000), single(t));
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void headsSplitMergeAndSlice(DType t) {
            long seed = 505;
            Random r = new Random(seed);
            double[] x = random(r, 2 * 5 * 12, 1, t);
            try (Tensor xt = up(x, t, 2, 5, 12); Tensor split = backend.splitHeads(xt, 3);
                    Tensor merged = backend.mergeHeads(split); Tensor sliced = backend.slice(xt, 3, 8)) {
                assertClose("splitHeads", seed, down(split), Reference.splitHeads(x, 2, 5, 3, 4), 0);
                assertClose("mergeHeads", seed, down(merged), x, 0);
                assertClose("slice", seed, down(sliced), Reference.slice(x, 10, 12, 3, 5), 0);
            }
        }
    }
}
