package dev.based4j.conformance;

import dev.based4j.attention.BaseConvSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.BasedAttentionLayer;
import dev.based4j.layer.DecodePlan;
import dev.based4j.layer.HiddenPlan;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.Mixer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.RmsNorm;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.SwiGluMlp;
import dev.based4j.layer.WeightSource;
import dev.based4j.reference.Reference;
import dev.based4j.Operation;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The layers of {@code dev.based4j.layer} on seeded weights against {@link LayerReference}. */
final class LayerCases {
    private LayerCases() {}

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.LAYERS, "layers", 7000);
        List<MixerConfig> mixers = List.of(
                LinearAttentionLayer.Config.of(32, 2, 8),
                SlidingWindowLayer.Config.of(32, 2, 4),
                SlidingWindowLayer.Config.of(32, 2, 4).withRotaryDim(8).withRotaryBase(500).withBiases(true, true),
                new SlidingWindowLayer.Config(32, 2, SlidingWindowSpec.unbounded(), 16, 10000, false, false, 64),
                new BaseConvLayer.Config(new BaseConvSpec(16, 32, 3)),
                new BaseConvLayer.Config(new BaseConvSpec(16, 24, 4)),
                BasedAttentionLayer.Config.of(32, 2, 8, 4));
        for (MixerConfig m : mixers) {
            mixer(list, m, 13, 0);
            mixer(list, m, 13, 6);
        }
        list.both("the SwiGLU MLP matches the float64 reference", "SwiGluMlp", "x [2, 5, 16], hidden 32",
                t -> Requirement.of(t, Operation.PLUMBING), false, (s, seed) -> {
                    SwiGluMlp.Config c = new SwiGluMlp.Config(16, 32);
                    Map<String, HostTensor> w = c.randomWeights(seed);
                    double[] x = new Inputs(seed).gaussian(160, 1);
                    SwiGluMlp mlp = s.own(SwiGluMlp.load(s.backend(), s.dtype(), WeightSource.of(w), c));
                    Tensor y = s.own(mlp.forward(s.input("x", x, Shape.of(2, 5, 16))));
                    s.compare("y", y, LayerReference.mlp(c, w, x, 10), Tolerances.Kind.SINGLE);
                });
        list.both("RMSNorm matches the float64 reference", "RmsNorm", "x [2, 5, 16], eps 1e-5",
                t -> Requirement.of(t, Operation.PLUMBING), false, (s, seed) -> {
                    RmsNorm.Config c = RmsNorm.Config.of(16);
                    Map<String, HostTensor> w = c.randomWeights(seed);
                    double[] x = new Inputs(seed).gaussian(160, 3);
                    RmsNorm norm = s.own(RmsNorm.load(s.backend(), s.dtype(), WeightSource.of(w), c));
                    Tensor y = s.own(norm.forward(s.input("x", x, Shape.of(2, 5, 16))));
                    s.compare("y", y, Reference.rmsNorm(x, 10, 16, LayerReference.w(w, "weight"), c.eps()),
                            Tolerances.Kind.SINGLE);
                });
        stack(list, 0);
        stack(list, 5);
        plannedDecode(list);
        plannedHidden(list);
        independentSequences(list);
        return list.cases();
    }

    /**
     * A small BASED stack as the released models arrange it: BaseConv, linear attention, sliding window, BaseConv,
     * each with a SwiGLU MLP, tied head.
     */
    static LayerStack.Config smallStack() {
        return new LayerStack.Config(23, List.of(BaseConvLayer.Config.of(32), LinearAttentionLayer.Config.of(32, 2, 8),
                SlidingWindowLayer.Config.of(32, 2, 3), BaseConvLayer.Config.of(32)), new SwiGluMlp.Config(32, 64),
                RmsNorm.DEFAULT_EPS, true);
    }

    static Set<Operation> operations(MixerConfig m) {
        Set<Operation> ops = EnumSet.of(Operation.PLUMBING);
        ops.add(switch (m) {
            case LinearAttentionLayer.Config c -> Operation.LINEAR_ATTENTION;
            case SlidingWindowLayer.Config c -> Operation.SLIDING_WINDOW;
            case BaseConvLayer.Config c -> Operation.CAUSAL_CONV;
            case BasedAttentionLayer.Config c -> Operation.BASED_ATTENTION;
        });
        return ops;
    }

    static String name(MixerConfig m) {
        return switch (m) {
            case LinearAttentionLayer.Config c -> "linear attention layer";
            case SlidingWindowLayer.Config c -> "sliding window layer";
            case BaseConvLayer.Config c -> "BaseConv layer";
            case BasedAttentionLayer.Config c -> "fused attention layer";
        };
    }

    static String describe(MixerConfig m) {
        return switch (m) {
            case LinearAttentionLayer.Config c -> "heads " + c.heads() + ", head dim " + c.headDim() + ", "
                    + c.spec().featureMap().kind().label() + " f " + c.featureDim();
            case SlidingWindowLayer.Config c -> "heads " + c.heads() + ", lookback "
                    + (c.window().isUnbounded() ? "unbounded" : String.valueOf(c.window().lookback()))
                    + ", rotary dim " + c.rotaryDim() + " base " + c.rotaryBase()
                    + (c.qkvBias() || c.outBias() ? ", with biases" : "");
            case BaseConvLayer.Config c -> "inner " + c.spec().innerDim() + ", kernel " + c.spec().kernelSize();
            case BasedAttentionLayer.Config c -> "heads " + c.heads() + ", head dim " + c.headDim() + ", "
                    + c.spec().featureMap().kind().label() + " f " + c.featureDim() + ", lookback " + c.spec().lookback();
        };
    }

    static Requirement requirement(MixerConfig m, dev.based4j.tensor.DType t) {
        Requirement r = new Requirement(operations(m), t, Set.of(), false, null);
        return switch (m) {
            case LinearAttentionLayer.Config c -> r.with(c.spec().featureMap());
            case BasedAttentionLayer.Config c -> r.with(c.spec().featureMap());
            default -> r;
        };
    }

    private static void mixer(CaseList list, MixerConfig m, int seq, int prefill) {
        int batch = 2;
        String desc = prefill == 0 ? "the " + name(m) + " matches the float64 reference"
                : "the " + name(m) + " decodes exactly where its prefill stopped";
        String shape = "x [" + batch + ", " + seq + ", " + m.modelDim() + "], " + describe(m)
                + (prefill == 0 ? "" : ", prefill of " + prefill + " then " + (seq - prefill) + " decode steps");
        Tolerances.Kind kind = m instanceof BasedAttentionLayer.Config ? Tolerances.Kind.FUSED : Tolerances.Kind.SINGLE;
        list.both(desc, prefill == 0 ? "Mixer.prefill" : "Mixer.prefill+decode", shape, t -> requirement(m, t), false,
                (s, seed) -> {
                    Map<String, HostTensor> w = m.randomWeights(seed);
                    int d = m.modelDim();
                    double[] x = new Inputs(seed).gaussian(batch * seq * d, 1);
                    LayerReference.MixerState ref = LayerReference.newState(m, batch);
                    double[] expected = LayerReference.mixer(m, w, x, batch, seq, ref);
                    Mixer layer = s.own(m.load(s.backend(), s.dtype(), WeightSource.of(w)));
                    RecurrentState state = s.own(layer.newState(batch));
                    double[] got = new double[expected.length];
                    List<int[]> steps = new ArrayList<>();
                    if (prefill == 0) {
                        steps.add(new int[] {0, seq});
                    } else {
                        steps.add(new int[] {0, prefill});
                        for (int t = prefill; t < seq; t++) {
                            steps.add(new int[] {t, 1});
                        }
                    }
                    for (int[] st : steps) {
                        boolean decode = prefill > 0 && st[0] >= prefill;
                        Tensor in = s.input("x", Inputs.tokens(x, batch, seq, d, st[0], st[0] + st[1]),
                                Shape.of(batch, st[1], d));
                        Tensor y = s.own(decode ? layer.decode(in, state) : layer.prefill(in, state));
                        Inputs.place(s.download(y), got, batch, seq, d, st[0], st[1]);
                    }
                    s.expect(state.position() == seq, "state position is " + state.position() + " after " + seq
                            + " tokens");
                    s.compare("y", got, expected, kind);
                    compareState(s, state, ref);
                });
    }

    static void compareState(CheckSession s, RecurrentState state, LayerReference.MixerState ref) {
        switch (state) {
            case LinearAttentionState l -> {
                s.compare("state.kv", l.kv(), ref.a, Tolerances.Kind.LONG);
                s.compare("state.z", l.z(), ref.b, Tolerances.Kind.LONG);
            }
            case WindowState w -> {
                s.compare("state.keys", w.keys(), ref.a, Tolerances.Kind.SINGLE);
                s.compare("state.values", w.values(), ref.b, Tolerances.Kind.SINGLE);
            }
            case BasedAttentionState b -> {
                s.compare("state.far.kv", b.far().kv(), ref.a, Tolerances.Kind.LONG);
                s.compare("state.far.z", b.far().z(), ref.b, Tolerances.Kind.LONG);
                s.compare("state.near.keys", b.near().keys(), ref.c, Tolerances.Kind.SINGLE);
                s.compare("state.near.values", b.near().values(), ref.d, Tolerances.Kind.SINGLE);
            }
            case ConvState c -> s.compare("state.window", c.window(), ref.a, Tolerances.Kind.SINGLE);
        }
    }

    private static void stack(CaseList list, int prefill) {
        LayerStack.Config c = smallStack();
        int batch = 2;
        int seq = 9;
        String desc = prefill == 0 ? "a small BASED layer stack gives the float64 reference logits"
                : "a small BASED layer stack decodes exactly where its prefill stopped";
        String shape = "ids [" + batch + ", " + seq + "], vocab 23, d_model 32, layers BaseConv, linear attention, "
                + "sliding window, BaseConv" + (prefill == 0 ? ""
                        : ", prefill of " + prefill + " then " + (seq - prefill) + " decode steps");
        list.both(desc, prefill == 0 ? "LayerStack.prefill" : "LayerStack.prefill+decode", shape,
                t -> Requirement.of(t).withModels(), false, (s, seed) -> {
                    Map<String, HostTensor> w = LayerStack.randomWeights(c, seed);
                    int[] ids = new Inputs(seed).ids(batch * seq, c.vocabSize());
                    double[] expected = LayerReference.stack(c, w, ids, batch, seq, LayerReference.newStates(c, batch));
                    LayerStack stack = s.own(LayerStack.load(s.backend(), s.dtype(), WeightSource.of(w), c));
                    LayerStack.State state = s.own(stack.newState(batch));
                    int v = c.vocabSize();
                    double[] got = new double[expected.length];
                    int first = prefill == 0 ? seq : prefill;
                    int[] head = new int[batch * first];
                    for (int b = 0; b < batch; b++) {
                        System.arraycopy(ids, b * seq, head, b * first, first);
                    }
                    Tensor logits = s.own(stack.prefill(head, batch, first, state));
                    Inputs.place(s.download(logits), got, batch, seq, v, 0, first);
                    for (int t = first; t < seq; t++) {
                        int[] step = new int[batch];
                        for (int b = 0; b < batch; b++) {
                            step[b] = ids[b * seq + t];
                        }
                        Tensor l = s.own(stack.decode(step, state));
                        Inputs.place(s.download(l), got, batch, seq, v, t, 1);
                    }
                    s.expect(state.position() == seq, "stack position is " + state.position() + " after " + seq
                            + " tokens");
                    s.compare("logits", got, expected, Tolerances.Kind.LOGITS);
                });
    }

    /** A planned decode step replays exactly what the eager step computes, step after step. */
    private static void plannedDecode(CaseList list) {
        LayerStack.Config c = smallStack();
        int batch = 2;
        int prefill = 3;
        int steps = 6;
        list.both("a planned decode gives the eager decode's logits bit for bit and the float64 reference's",
                "DecodePlan.step", "ids [" + batch + ", " + (prefill + steps) + "], prefill of " + prefill + " then "
                        + steps + " planned steps, the stack of the layer-stack cases",
                t -> Requirement.of(t).withModels(), false, (s, seed) -> {
                    int seq = prefill + steps;
                    Map<String, HostTensor> w = LayerStack.randomWeights(c, seed);
                    int[] ids = new Inputs(seed).ids(batch * seq, c.vocabSize());
                    double[] expected = LayerReference.stack(c, w, ids, batch, seq, LayerReference.newStates(c, batch));
                    LayerStack stack = s.own(LayerStack.load(s.backend(), s.dtype(), WeightSource.of(w), c));
                    LayerStack.State eager = s.own(stack.newState(batch));
                    LayerStack.State planned = s.own(stack.newState(batch));
                    int v = c.vocabSize();
                    double[] got = new double[expected.length];
                    int[] head = new int[batch * prefill];
                    for (int b = 0; b < batch; b++) {
                        System.arraycopy(ids, b * seq, head, b * prefill, prefill);
                    }
                    s.own(stack.prefill(head, batch, prefill, eager));
                    Inputs.place(s.download(s.own(stack.prefill(head, batch, prefill, planned))), got, batch, seq, v, 0,
                            prefill);
                    DecodePlan plan = s.own(stack.planDecode(planned));
                    for (int t = prefill; t < seq; t++) {
                        int[] step = new int[batch];
                        for (int b = 0; b < batch; b++) {
                            step[b] = ids[b * seq + t];
                        }
                        double[] fromPlan = s.download(plan.step(step));
                        double[] fromEager = s.download(s.own(stack.decode(step, eager)));
                        s.expect(java.util.Arrays.equals(fromPlan, fromEager), "planned step " + (t - prefill)
                                + " differs from the eager step's logits");
                        Inputs.place(fromPlan, got, batch, seq, v, t, 1);
                    }
                    s.expect(planned.position() == seq, "planned state at position " + planned.position() + " after "
                            + seq + " tokens");
                    s.compare("logits", got, expected, Tolerances.Kind.LOGITS);
                });
    }

    /**
     * A planned hidden-state step reads its input tensor afresh at every step (the caller refills it between steps) and
     * gives what the eager {@link LayerStack#hidden} gives, bit for bit.
     */
    private static void plannedHidden(CaseList list) {
        LayerStack.Config c = smallStack();
        int batch = 2;
        int steps = 5;
        list.both("a planned hidden-state step gives the eager step's hidden states bit for bit on a refilled input",
                "HiddenPlan.step", "x [" + batch + ", 1, " + c.modelDim() + "] refilled before each of " + steps
                        + " planned decode steps, the stack of the layer-stack cases",
                t -> Requirement.of(t).withModels(), false, (s, seed) -> {
                    if (!s.backend().capabilities().copiesRows()) {
                        s.skip("backend " + s.backend().name() + " supplies no device copy, which refilling the"
                                + " plan's input needs (copyRows)");
                    }
                    int d = c.modelDim();
                    Map<String, HostTensor> w = LayerStack.randomWeights(c, seed);
                    Inputs in = new Inputs(seed);
                    LayerStack stack = s.own(LayerStack.load(s.backend(), s.dtype(), WeightSource.of(w), c));
                    LayerStack.State eager = s.own(stack.newState(batch));
                    LayerStack.State planned = s.own(stack.newState(batch));
                    Tensor x = s.own(s.backend().allocate(Shape.of(batch, 1, d), s.dtype()));
                    HiddenPlan plan = s.own(stack.planHidden(planned, x, true));
                    for (int t = 0; t < steps; t++) {
                        Tensor fresh = s.input("x" + t, in.gaussian(batch * d, 1), Shape.of(batch, 1, d));
                        s.backend().copyRows(fresh, 0, x, 0, batch);
                        double[] fromPlan = s.download(plan.step());
                        double[] fromEager = s.download(s.own(stack.hidden(fresh, eager, true)));
                        s.expect(java.util.Arrays.equals(fromPlan, fromEager), "planned step " + t
                                + " differs from the eager step's hidden states");
                        s.expect(Double.isFinite(fromPlan[0]), "planned step " + t + " gave " + fromPlan[0]);
                    }
                    s.expect(planned.position() == steps, "planned state at position " + planned.position()
                            + " after " + steps + " steps");
                });
    }

    /**
     * Sequences at their own positions, each with a state of its own, decoded together (continuous batching) give
     * what each gives alone.
     */
    private static void independentSequences(CaseList list) {
        LayerStack.Config c = smallStack();
        int[] prompts = {1, 3, 5};
        int steps = 4;
        list.both("independent sequences at their own positions decoded together match each one alone",
                "LayerStack.decode(ids, states)", "3 sequences, prompts of 1, 3 and 5 tokens, then " + steps
                        + " steps together (eager, then planned)",
                t -> Requirement.of(t).withModels(), false, (s, seed) -> {
                    if (!s.backend().capabilities().copiesRows()) {
                        s.skip("backend " + s.backend().name() + " supplies no device copy, which steps of independent"
                                + " sequences need (copyRows)");
                    }
                    Map<String, HostTensor> w = LayerStack.randomWeights(c, seed);
                    Inputs in = new Inputs(seed);
                    int n = prompts.length;
                    int[][] seqs = new int[n][];
                    for (int r = 0; r < n; r++) {
                        seqs[r] = in.ids(prompts[r] + steps, c.vocabSize());
                    }
                    LayerStack stack = s.own(LayerStack.load(s.backend(), s.dtype(), WeightSource.of(w), c));
                    java.util.List<LayerStack.State> states = new ArrayList<>();
                    for (int r = 0; r < n; r++) {
                        LayerStack.State st = s.own(stack.newState(1));
                        s.own(stack.prefill(java.util.Arrays.copyOf(seqs[r], prompts[r]), 1, prompts[r], st));
                        states.add(st);
                    }
                    int v = c.vocabSize();
                    double[][] got = new double[n][];
                    for (int r = 0; r < n; r++) {
                        got[r] = new double[(prompts[r] + steps) * v];
                    }
                    DecodePlan plan = null;
                    for (int t = 0; t < steps; t++) {
                        int[] step = new int[n];
                        for (int r = 0; r < n; r++) {
                            step[r] = seqs[r][prompts[r] + t];
                        }
                        // the first half eagerly, the second through a plan made at that point
                        if (t == steps / 2) {
                            plan = s.own(stack.planDecode(states));
                        }
                        double[] logits = s.download(plan == null ? s.own(stack.decode(step, states)) : plan.step(step));
                        for (int r = 0; r < n; r++) {
                            System.arraycopy(logits, r * v, got[r], (prompts[r] + t) * v, v);
                        }
                    }
                    for (int r = 0; r < n; r++) {
                        int len = prompts[r] + steps;
                        double[] expected = LayerReference.stack(c, w, seqs[r], 1, len, LayerReference.newStates(c, 1));
                        double[] decoded = java.util.Arrays.copyOfRange(got[r], prompts[r] * v, len * v);
                        s.compare("sequence " + r + " logits", decoded,
                                java.util.Arrays.copyOfRange(expected, prompts[r] * v, len * v), Tolerances.Kind.LOGITS);
                        s.expect(states.get(r).position() == len, "sequence " + r + " at position "
                                + states.get(r).position() + ", expected " + len);
                    }
                });
    }
}
