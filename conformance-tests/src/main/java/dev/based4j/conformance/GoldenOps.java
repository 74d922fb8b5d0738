package dev.based4j.conformance;

import dev.based4j.attention.BaseConvSpec;
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
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.Mixer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.WeightSource;
import dev.based4j.layer.LayerStack;
import dev.based4j.reference.Reference;
import dev.based4j.Operation;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.WeightFormat;
import dev.based4j.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * Maps each op of {@code FORMAT.md} to the SDK calls that compute it, with the reshuffles between the golden
 * layouts (the original code's) and the SDK's. Preparing a case parses its configuration, so a case the SDK
 * cannot express is refused when the folder is read, not when it runs.
 */
final class GoldenOps {
    private GoldenOps() {}

    /** The ops this runner knows. */
    static final Set<String> OPS = Set.of("taylor_feature_map", "feature_map", "linear_attn_parallel",
            "linear_attn_recurrent", "sliding_window_attn", "linear_attn_parallel_fm", "hybrid_attn",
            "linear_attention_layer", "sliding_attention_layer", "baseconv_layer", "tiny_lm");

    /** Reason a whole-model case is skipped while no {@link GoldenModelRunner} is present. */
    static final String NO_MODEL_RUNNER = "no GoldenModelRunner supports this whole-model case";

    /**
     * A case ready to run.
     *
     * @param requirement what it needs from the backend
     * @param body the check
     */
    record Prepared(Requirement.Factory requirement, Body body) {}

    /** The check of a prepared case; {@code runners} are the whole-model runners available. */
    @FunctionalInterface
    interface Body {
        void run(CheckSession s, List<GoldenModelRunner> runners) throws Exception;
    }

    /**
     * @throws GoldenFormatException naming the case when its op is unknown, a tensor or a config key is missing or
     *     the configuration is outside what the SDK computes
     */
    static Prepared prepare(GoldenCase c) {
        return switch (c.op()) {
            case "taylor_feature_map" -> featureMap(c, new Taylor(c.intConfig("feature_dim",
                    shape(c, "x", 4, "batch, heads, seq, feature_dim").dim(-1))));
            case "feature_map" -> featureMap(c, map(c, ""));
            case "linear_attn_parallel" -> linearAttention(c, false);
            case "linear_attn_recurrent" -> linearAttention(c, true);
            case "linear_attn_parallel_fm" -> linearAttentionFm(c);
            case "sliding_window_attn" -> slidingWindow(c);
            case "hybrid_attn" -> hybrid(c);
            case "linear_attention_layer" -> linearLayer(c);
            case "sliding_attention_layer" -> slidingLayer(c);
            case "baseconv_layer" -> convLayer(c);
            case "tiny_lm" -> tinyLm(c);
            default -> throw new GoldenFormatException("golden case '" + c.name() + "': unknown op '" + c.op()
                    + "' (" + c.location() + "); known ops: " + new java.util.TreeSet<>(OPS));
        };
    }

    // ---------------------------------------------------------------- feature maps

    /** The feature map a case names, with its weights under {@code prefix} ({@code feature_map.} in _fm cases). */
    static FeatureMap map(GoldenCase c, String prefix) {
        String name = c.textConfig("feature_map");
        int d = c.intConfig("input_dim");
        double temp = c.doubleConfig("temp", 1.0);
        if (temp != 1.0) {
            throw new GoldenFormatException("golden case '" + c.name() + "': feature map temperature " + temp
                    + " is not supported (based4j's maps have temp 1)");
        }
        return switch (name) {
            case "TaylorExp" -> new Taylor(d);
            case "PosELU" -> new PosElu(d);
            case "ReLU" -> new Relu(d, c.doubleConfig("eps", Relu.DEFAULT_EPS));
            case "Square" -> new Square(d);
            case "Identity" -> new Identity(d);
            case "CosFormer" -> new CosFormer(d);
            case "Performer" -> {
                HostTensor w = c.tensor(prefix + "random_feats", DType.F64);
                yield new Performer(d, w.shape().dim(0), w.toDoubleArray());
            }
            case "AllPoly" -> new AllPoly(d, c.tensor(prefix + "proj_1.weight", DType.F64).toDoubleArray(),
                    c.tensor(prefix + "proj_2.weight", DType.F64).toDoubleArray());
            default -> throw new GoldenFormatException("golden case '" + c.name() + "': unknown feature_map '" + name
                    + "'");
        };
    }

    private static Prepared featureMap(GoldenCase c, FeatureMap map) {
        Shape x = c.spec("x").shape();
        Shape phi = c.spec("phi").shape();
        GoldenCase.requireBudget(c.name(), GoldenCase.addBytes(c.name(), 0, phi.elementCount(), 2L * 8, "phi"),
                "the output and its reference");
        if (x.dim(-1) != map.inputDim() || !phi.equals(x.withLast(map.outputDim()))) {
            throw new GoldenFormatException("golden case '" + c.name() + "': x " + x + " and phi " + phi
                    + " do not fit " + map.kind().label() + " with " + map.inputDim() + " → " + map.outputDim());
        }
        return new Prepared(t -> Requirement.of(t, Operation.FEATURE_MAP).with(map), (s, runners) -> {
            Tensor in = s.input("x", c.tensor("x", DType.F64).toDoubleArray(), x);
            Tensor out = s.poisoned(phi);
            s.backend().featureMap(map, in, out);
            s.compare("phi", out, c.expected("phi"), Tolerances.Kind.SINGLE);
        });
    }

    // ---------------------------------------------------------------- linear attention

    private static Plan.Kernel<LinearAttentionState> linearKernel(LinearAttentionSpec spec) {
        return (b, q, k, v, st, o, decode) -> {
            if (decode) {
                b.linearAttentionDecode(spec, q, k, v, st, o);
            } else {
                b.linearAttentionPrefill(spec, q, k, v, st, o);
            }
        };
    }

    private static Prepared linearAttention(GoldenCase c, boolean recurrent) {
        Shape qs = shape(c, "q", 4, "batch, heads, seq, feature_dim");
        Shape vs = shape(c, "v", 4, "batch, heads, seq, head_dim");
        int b = qs.dim(0);
        int h = qs.dim(1);
        int l = qs.dim(2);
        int f = c.intConfig("feature_dim", qs.dim(3));
        int dv = vs.dim(3);
        requireState(c, "the linear-attention state", (long) b * h, new Taylor(f).outputDim(), dv + 1L);
        double eps = recurrent ? c.doubleConfig("eps_recurrent", c.doubleConfig("eps", LinearAttentionSpec.DEFAULT_EPS))
                : c.doubleConfig("eps", LinearAttentionSpec.DEFAULT_EPS);
        LinearAttentionSpec spec = new LinearAttentionSpec(new Taylor(f), eps, PrefillAlgorithm.AUTO,
                LinearAttentionSpec.DEFAULT_CHUNK, false);
        int p = recurrent ? c.intConfig("prefill_len") : l;
        Plan plan = recurrent ? Plan.prefillThenDecode(p, l) : Plan.whole(l);
        checkShape(c, "y", Shape.of(b, l, h * dv));
        return new Prepared(t -> Requirement.of(t, Operation.LINEAR_ATTENTION).with(spec.featureMap()),
                (s, runners) -> {
                    LinearAttentionState st = s.own(LinearAttentionState.zeros(s.backend(), b, h, spec.expandedDim(), dv,
                            s.dtype()));
                    double[] y = plan.run(s, values(c, "q"), values(c, "k"), values(c, "v"), b, h, f, dv, st,
                            linearKernel(spec));
                    s.compare("y", Reference.mergeHeads(y, b, h, l, dv), c.expected("y"), kind(l));
                    compareLinearState(s, c, st);
                });
    }

    private static void compareLinearState(CheckSession s, GoldenCase c, LinearAttentionState st) {
        if (c.has("kv_state")) {
            s.compare("kv_state", st.kv(), c.expected("kv_state"), Tolerances.Kind.LONG);
        }
        if (c.has("k_state")) {
            s.compare("k_state", st.z(), c.expected("k_state"), Tolerances.Kind.LONG);
        }
    }

    private static Prepared linearAttentionFm(GoldenCase c) {
        FeatureMap map = map(c, "feature_map.");
        Shape qs = shape(c, "q", 4, "batch, heads, seq, input_dim");
        Shape vs = shape(c, "v", 4, "batch, heads, seq, head_dim");
        int b = qs.dim(0);
        int h = qs.dim(1);
        int l = qs.dim(2);
        int dv = vs.dim(3);
        requireState(c, "the linear-attention state", (long) b * h, map.outputDim(), dv + 1L);
        double eps = c.doubleConfig("attention_eps", LinearAttentionSpec.DEFAULT_EPS);
        LinearAttentionSpec spec = new LinearAttentionSpec(map, eps, PrefillAlgorithm.AUTO,
                LinearAttentionSpec.DEFAULT_CHUNK, map.signedDotProduct());
        checkShape(c, "y", Shape.of(b, l, h * dv));
        return new Prepared(t -> Requirement.of(t, Operation.LINEAR_ATTENTION).with(map), (s, runners) -> {
            LinearAttentionState st = s.own(LinearAttentionState.zeros(s.backend(), b, h, spec.expandedDim(), dv,
                    s.dtype()));
            double[] y = Plan.whole(l).run(s, values(c, "q"), values(c, "k"), values(c, "v"), b, h, map.inputDim(), dv,
                    st, linearKernel(spec));
            s.compare("y", Reference.mergeHeads(y, b, h, l, dv), c.expected("y"), kind(l));
        });
    }

    // ---------------------------------------------------------------- sliding window

    private static Prepared slidingWindow(GoldenCase c) {
        Shape qs = shape(c, "q", 4, "batch, seq, heads, head_dim");
        int b = qs.dim(0);
        int l = qs.dim(1);
        int h = qs.dim(2);
        int hd = qs.dim(3);
        int dv = shape(c, "v", 4, "batch, seq, heads, head_dim").dim(3);
        int lookback = lookback(c);
        requireState(c, "the window ring of lookback " + lookback, (long) b * h, lookback + 1L, (long) hd + dv);
        SlidingWindowSpec spec = new SlidingWindowSpec(lookback,
                OptionalDouble.of(c.doubleConfig("softmax_scale", 1.0 / Math.sqrt(hd))));
        checkShape(c, "o", Shape.of(b, l, h, dv));
        return new Prepared(t -> Requirement.of(t, Operation.SLIDING_WINDOW), (s, runners) -> {
            // golden layout (batch, seq, heads, d) is the SDK's [batch, seq, heads·d]: split to [batch, heads, seq, d]
            double[] q = Reference.splitHeads(values(c, "q"), b, l, h, hd);
            double[] k = Reference.splitHeads(values(c, "k"), b, l, h, hd);
            double[] v = Reference.splitHeads(values(c, "v"), b, l, h, dv);
            WindowState st = s.own(WindowState.empty(s.backend(), b, h, hd, dv, spec.lookback(), s.dtype()));
            double[] o = Plan.whole(l).run(s, q, k, v, b, h, hd, dv, st, (be, tq, tk, tv, state, out, decode) ->
                    be.slidingWindowPrefill(spec, tq, tk, tv, state, out));
            s.compare("o", Reference.mergeHeads(o, b, h, l, dv), c.expected("o"), kind(l));
        });
    }

    /** {@code window_left} when given, else {@code window_size / 2} (the original code's halving). */
    private static int lookback(GoldenCase c) {
        String key = c.config().has("window_left") ? "window_left" : "window_size";
        int value = c.intConfig(key);
        int lookback = key.equals("window_left") ? value : value / 2;
        if (lookback < 0) {
            throw new GoldenFormatException("golden case '" + c.name() + "': config " + key + " " + value
                    + " gives a negative lookback (" + c.location() + ")");
        }
        return lookback;
    }

    // ---------------------------------------------------------------- fused

    private static Prepared hybrid(GoldenCase c) {
        Shape qs = shape(c, "q", 4, "batch, heads, seq, feature_dim");
        int b = qs.dim(0);
        int h = qs.dim(1);
        int l = qs.dim(2);
        int f = qs.dim(3);
        int dv = shape(c, "v", 4, "batch, heads, seq, head_dim").dim(3);
        String mapName = c.config().path("feature_map").asText("TaylorExp");
        if (!mapName.equals("TaylorExp")) {
            throw new GoldenFormatException("golden case '" + c.name() + "': hybrid_attn with feature_map '" + mapName
                    + "' is not supported (TaylorExp only)");
        }
        int lookback = c.intConfig("lookback");
        if (lookback < 0) {
            throw new GoldenFormatException("golden case '" + c.name() + "': config lookback " + lookback
                    + " is negative (" + c.location() + ")");
        }
        // two states (whole and stepped), each a Taylor far state and a ring of lookback + 1 keys and values
        requireState(c, "the fused states (window of lookback " + lookback + ")", 2L * b * h,
                1, Math.addExact(Math.multiplyExact(new Taylor(f).outputDim(), dv + 1L),
                        Math.multiplyExact(lookback + 1L, (long) f + dv)));
        BasedAttentionSpec spec = new BasedAttentionSpec(new Taylor(f), lookback,
                OptionalDouble.of(c.doubleConfig("scale", 1.0 / Math.sqrt(f))),
                c.doubleConfig("eps", LinearAttentionSpec.DEFAULT_EPS));
        int p = c.intConfig("prefill_len", -1);
        if (p >= 0) {
            c.spec("y_decode");
        }
        Plan.Kernel<BasedAttentionState> kernel = (be, tq, tk, tv, st, o, decode) -> {
            if (decode) {
                be.basedAttentionDecode(spec, tq, tk, tv, st, o);
            } else {
                be.basedAttentionPrefill(spec, tq, tk, tv, st, o);
            }
        };
        return new Prepared(t -> Requirement.of(t, Operation.BASED_ATTENTION).with(spec.featureMap()), (s, runners) -> {
            double[] q = values(c, "q");
            double[] k = values(c, "k");
            double[] v = values(c, "v");
            int e = spec.featureMap().outputDim();
            BasedAttentionState whole = s.own(BasedAttentionState.empty(s.backend(), b, h, f, e, dv, lookback,
                    s.dtype()));
            s.compare("y", Plan.whole(l).run(s, q, k, v, b, h, f, dv, whole, kernel), c.expected("y"),
                    Tolerances.Kind.FUSED);
            compareHybridState(s, c, whole, "", l);
            if (p >= 0) {
                BasedAttentionState stepped = s.own(BasedAttentionState.empty(s.backend(), b, h, f, e, dv, lookback,
                        s.dtype()));
                s.compare("y_decode", Plan.prefillThenDecode(p, l).run(s, q, k, v, b, h, f, dv, stepped, kernel),
                        c.expected("y_decode"), Tolerances.Kind.FUSED);
                compareHybridState(s, c, stepped, " after decode", l);
            }
        });
    }

    /** Compares the far state and the ring (golden: oldest first; ours: position p in slot p mod capacity). */
    private static void compareHybridState(CheckSession s, GoldenCase c, BasedAttentionState st, String when, int l) {
        if (c.has("kv_state")) {
            s.compare("kv_state" + when, st.far().kv(), c.expected("kv_state"), Tolerances.Kind.LONG);
        }
        if (c.has("k_state")) {
            s.compare("k_state" + when, st.far().z(), c.expected("k_state"), Tolerances.Kind.LONG);
        }
        for (String part : List.of("window_k", "window_v")) {
            if (!c.has(part)) {
                continue;
            }
            Shape gs = c.spec(part).shape();
            int n = gs.dim(2);
            int width = gs.dim(3);
            WindowState ring = st.near();
            double[] slots = s.download(part.equals("window_k") ? ring.keys() : ring.values());
            int cap = ring.capacity();
            int rows = gs.dim(0) * gs.dim(1);
            double[] oldestFirst = new double[rows * n * width];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < n; i++) {
                    int slot = Math.floorMod(l - n + i, cap);
                    System.arraycopy(slots, (r * cap + slot) * width, oldestFirst, (r * n + i) * width, width);
                }
            }
            s.compare(part + when, oldestFirst, c.expected(part), Tolerances.Kind.SINGLE);
        }
    }

    // ---------------------------------------------------------------- layers

    private static Prepared linearLayer(GoldenCase c) {
        int d = positive(c, "d_model");
        int h = positive(c, "heads");
        int f = positive(c, "feature_dim");
        int hd = c.intConfig("head_dim", d / h);
        requireState(c, "the linear-attention states", 2L * shape(c, "x", 3, "batch, seq, d_model").dim(0) * h,
                new Taylor(f).outputDim(), hd + 1L);
        LinearAttentionSpec spec = new LinearAttentionSpec(new Taylor(f),
                c.doubleConfig("eps", LinearAttentionSpec.DEFAULT_EPS), PrefillAlgorithm.AUTO,
                LinearAttentionSpec.DEFAULT_CHUNK, false);
        LinearAttentionLayer.Config config = new LinearAttentionLayer.Config(d, h, hd, spec);
        return layer(c, config, t -> Requirement.of(t, Operation.PLUMBING, Operation.LINEAR_ATTENTION)
                .with(spec.featureMap()), (s, st) -> {
                    LinearAttentionState la = (LinearAttentionState) st;
                    compareLinearState(s, c, la);
                });
    }

    private static Prepared slidingLayer(GoldenCase c) {
        int d = positive(c, "d_model");
        int h = positive(c, "heads");
        int hd = c.intConfig("head_dim", d / h);
        int lookback = lookback(c);
        requireState(c, "the window rings of lookback " + lookback, 2L * shape(c, "x", 3, "batch, seq, d_model").dim(0)
                * h, lookback + 1L, 2L * hd);
        OptionalDouble scale = c.config().has("softmax_scale") ? OptionalDouble.of(c.doubleConfig("softmax_scale"))
                : OptionalDouble.empty();
        SlidingWindowLayer.Config config = new SlidingWindowLayer.Config(d, h, new SlidingWindowSpec(lookback, scale),
                c.intConfig("rotary_dim", hd), c.doubleConfig("rotary_emb_base", SlidingWindowLayer.DEFAULT_ROTARY_BASE),
                c.has("Wqkv.bias"), c.has("out_proj.bias"), Math.max(2048, c.spec("x").shape().dim(1)));
        return layer(c, config, t -> Requirement.of(t, Operation.PLUMBING, Operation.SLIDING_WINDOW), (s, st) -> {});
    }

    private static Prepared convLayer(GoldenCase c) {
        int d = positive(c, "d_model");
        Shape conv = c.spec("conv.conv.weight").shape();
        if (conv.rank() != 3 || conv.dim(1) != 1) {
            throw new GoldenFormatException("golden case '" + c.name() + "': conv.conv.weight " + conv
                    + " is not a depthwise [inner, 1, kernel] weight");
        }
        requireState(c, "the convolution states", 2L * shape(c, "x", 3, "batch, seq, d_model").dim(0), conv.dim(0),
                conv.dim(2));
        BaseConvLayer.Config config = new BaseConvLayer.Config(new BaseConvSpec(d, c.intConfig("d_inner", conv.dim(0)),
                conv.dim(2)));
        return layer(c, config, t -> Requirement.of(t, Operation.PLUMBING, Operation.CAUSAL_CONV), (s, st) -> {
            if (c.has("conv_state")) {
                s.compare("conv_state", ((ConvState) st).window(), c.expected("conv_state"), Tolerances.Kind.SINGLE);
            }
        });
    }

    /** Compares a layer's state after the decode path with the case's state outputs. */
    @FunctionalInterface
    private interface StateCheck {
        void compare(CheckSession s, RecurrentState state);
    }

    /** {@code y} from one prefill; {@code y_decode} (prefill {@code prefill_len}, then decode steps) and its state. */
    private static Prepared layer(GoldenCase c, MixerConfig config, Requirement.Factory requirement, StateCheck state) {
        Shape xs = c.spec("x").shape();
        if (xs.rank() != 3 || xs.dim(2) != config.modelDim()) {
            throw new GoldenFormatException("golden case '" + c.name() + "': x " + xs + " is not [batch, seq, d_model="
                    + config.modelDim() + "]");
        }
        int b = xs.dim(0);
        int l = xs.dim(1);
        int d = xs.dim(2);
        boolean decodes = c.has("y_decode");
        int p = decodes ? c.intConfig("prefill_len") : -1;
        List<String> weights = c.tensors().values().stream().filter(t -> t.role().equals("weight"))
                .map(GoldenCase.TensorSpec::name).toList();
        return new Prepared(requirement, (s, runners) -> {
            Map<String, HostTensor> w = new HashMap<>();
            for (String name : weights) {
                w.put(name, c.tensor(name, s.dtype()));
            }
            double[] x = values(c, "x");
            Mixer layer = s.own(config.load(s.backend(), s.dtype(), WeightSource.of(w)));
            RecurrentState whole = s.own(layer.newState(b));
            Tensor y = s.own(layer.prefill(s.input("x", x, xs), whole));
            s.compare("y", y, c.expected("y"), kind(l));
            if (decodes) {
                RecurrentState stepped = s.own(layer.newState(b));
                double[] got = new double[b * l * d];
                if (p > 0) {
                    Tensor head = s.own(layer.prefill(s.input("x", Inputs.tokens(x, b, l, d, 0, p), Shape.of(b, p, d)),
                            stepped));
                    Inputs.place(s.download(head), got, b, l, d, 0, p);
                }
                for (int t = p; t < l; t++) {
                    Tensor step = s.own(layer.decode(s.input("x", Inputs.tokens(x, b, l, d, t, t + 1),
                            Shape.of(b, 1, d)), stepped));
                    Inputs.place(s.download(step), got, b, l, d, t, 1);
                }
                s.compare("y_decode", got, c.expected("y_decode"), kind(l));
                state.compare(s, stepped);
            } else {
                state.compare(s, whole);
            }
        });
    }

    // ---------------------------------------------------------------- whole model

    private static Prepared tinyLm(GoldenCase c) {
        LayerStack.Config config = LayerStackGoldenRunner.config(c);
        Shape ids = shape(c, "input_ids", 2, "batch, seq");
        if (!c.spec("input_ids").dtype().equals("int32")) {
            throw new GoldenFormatException("golden case '" + c.name() + "', tensor 'input_ids': dtype "
                    + c.spec("input_ids").dtype() + ", expected int32");
        }
        Shape logitShape = shape(c, "logits", 3, "batch, seq, padded_vocab");
        if (!logitShape.equals(Shape.of(ids.dim(0), ids.dim(1), config.vocabSize()))) {
            throw new GoldenFormatException("golden case '" + c.name() + "', tensor 'logits': shape " + logitShape
                    + ", expected [" + ids.dim(0) + ", " + ids.dim(1) + ", " + config.vocabSize() + "]");
        }
        long tokens = (long) ids.dim(0) * ids.dim(1);
        long weightElements = c.tensors().values().stream().filter(t -> t.role().equals("weight"))
                .mapToLong(t -> t.shape().elementCount()).reduce(0, (a, b) -> b > Long.MAX_VALUE - a ? Long.MAX_VALUE
                        : a + b);
        long bytes = GoldenCase.addBytes(c.name(), 0, weightElements, 8, "the weights");
        bytes = GoldenCase.addBytes(c.name(), bytes, ids.dim(0), LayerStackGoldenRunner.stateElements(config) * 8,
                "the state");
        bytes = GoldenCase.addBytes(c.name(), bytes, tokens, (config.vocabSize() + 16L * config.modelDim()) * 8,
                "the activations");
        GoldenCase.requireBudget(c.name(), bytes, "the model's weights, state and activations in float64");
        int[] idValues = c.ints("input_ids");
        for (int i = 0; i < idValues.length; i++) {
            if (idValues[i] < 0 || idValues[i] >= config.vocabSize()) {
                throw new GoldenFormatException("golden case '" + c.name() + "', tensor 'input_ids': element " + i
                        + " is " + idValues[i] + ", expected a token id in [0, " + config.vocabSize() + ")");
            }
        }
        return new Prepared(t -> Requirement.of(t).withModels(), (s, runners) -> {
            GoldenModelRunner runner = runners.stream().filter(r -> r.supports(c)).findFirst().orElse(null);
            if (runner == null) {
                s.skip(NO_MODEL_RUNNER);
                return;
            }
            HostTensor logits = runner.logits(s.backend(), s.dtype(), c);
            s.compare("logits", logits.toDoubleArray(), c.expected("logits"), Tolerances.Kind.LOGITS);
        });
    }

    /**
     * A prepared {@code tiny_lm} case (checked by {@link #prepare}) run with the model's matrices stored in
     * {@code format}: its logits within the format's tolerance of the case's float64 logits, and the same greedy
     * token at every position of the prompt.
     */
    static Prepared tinyLmWithWeights(GoldenCase c, WeightFormat format) {
        int vocab = LayerStackGoldenRunner.config(c).vocabSize();
        return new Prepared(t -> Requirement.of(t).withModels().withWeights(format.type()), (s, runners) -> {
            GoldenModelRunner runner = runners.stream().filter(r -> r.supports(c, format)).findFirst().orElse(null);
            if (runner == null) {
                s.skip("no GoldenModelRunner runs this whole-model case with " + format.label() + " weights");
                return;
            }
            double[] logits = runner.logits(s.backend(), s.dtype(), format, c).toDoubleArray();
            double[] expected = c.expected("logits");
            s.compare("logits (" + format.label() + " weights)", logits, expected,
                    Tolerances.ofWeights(format, Tolerances.Kind.LOGITS));
            s.expectSameGreedyTokens("logits", logits, expected, vocab);
        });
    }

    // ---------------------------------------------------------------- helpers

    private static double[] values(GoldenCase c, String tensor) {
        return c.tensor(tensor, DType.F64).toDoubleArray();
    }

    private static Tolerances.Kind kind(int seq) {
        return seq > 128 ? Tolerances.Kind.LONG : Tolerances.Kind.SINGLE;
    }

    /** @return the shape of {@code tensor}, refusing one of another rank (its dimensions named in the message) */
    private static Shape shape(GoldenCase c, String tensor, int rank, String dims) {
        Shape s = c.spec(tensor).shape();
        if (s.rank() != rank) {
            throw new GoldenFormatException("golden case '" + c.name() + "', tensor '" + tensor + "': shape " + s
                    + " has rank " + s.rank() + ", " + c.op() + " expects rank " + rank + " [" + dims + "] ("
                    + c.location() + ")");
        }
        return s;
    }

    private static int positive(GoldenCase c, String key) {
        int v = c.intConfig(key);
        if (v < 1) {
            throw new GoldenFormatException("golden case '" + c.name() + "': config " + key + " is " + v
                    + ", expected >= 1 (" + c.location() + ")");
        }
        return v;
    }

    /**
     * Refuses a case whose states ({@code rows × a × b} float64 values, the largest the runner allocates) do not fit
     * the case budget, before anything is allocated.
     */
    private static void requireState(GoldenCase c, String what, long rows, long a, long b) {
        long bytes;
        try {
            bytes = Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(rows, a), b), 8L);
        } catch (ArithmeticException e) {
            throw new GoldenFormatException("golden case '" + c.name() + "': " + what + " needs more bytes than a"
                    + " 64-bit count holds (" + c.location() + ")", e);
        }
        GoldenCase.requireBudget(c.name(), bytes, what + " (" + rows + " x " + a + " x " + b + " float64 values)");
    }

    private static void checkShape(GoldenCase c, String tensor, Shape expected) {
        Shape found = c.spec(tensor).shape();
        if (found.elementCount() != expected.elementCount()) {
            throw new GoldenFormatException("golden case '" + c.name() + "', tensor '" + tensor + "': shape " + found
                    + " does not hold " + expected + " as " + c.op() + " computes it");
        }
    }
}
