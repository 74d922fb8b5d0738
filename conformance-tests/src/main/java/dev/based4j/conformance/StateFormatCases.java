package dev.based4j.conformance;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.reference.Reference;
import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.CorruptStateException;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.StateFormat;
import dev.based4j.state.StateSnapshot;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.Map;

/**
 * State round trips: prefill, snapshot, {@link StateFormat} bytes, load, restore (on the same instance, on another
 * instance, in another precision), resume with decode steps; the whole must equal one float64 prefill.
 */
final class StateFormatCases {
    private StateFormatCases() {}

    /** Where the restored state resumes. */
    private enum Target {
        SAME("the same backend instance"),
        OTHER("another instance of the backend"),
        F64_TO_F32("the same backend in f32, saved from f64"),
        OTHER_BACKENDS("every other usable backend found by ServiceLoader");

        final String words;

        Target(String words) {
            this.words = words;
        }
    }

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.STATE_FORMAT, "state-format", 8000);
        for (Target target : Target.values()) {
            kernel(list, target, "linear-attention", t -> Requirement.of(t, Operation.LINEAR_ATTENTION)
                    .with(new Taylor(16)), "batch 2, heads 2, seq 30, f 16, dv 8", 30, 17, StateFormatCases::linear);
            kernel(list, target, "sliding-window", Requirement.needs(Operation.SLIDING_WINDOW),
                    "batch 2, heads 2, seq 20, d 8, lookback 5", 20, 9, StateFormatCases::window);
            kernel(list, target, "fused-attention", Requirement.needs(new Taylor(8), Operation.BASED_ATTENTION),
                    "batch 1, heads 2, seq 20, f 8, dv 8, lookback 4", 20, 11, StateFormatCases::based);
            kernel(list, target, "convolution", Requirement.needs(Operation.CAUSAL_CONV),
                    "batch 2, seq 9, channels 8, kernel 3", 9, 4, StateFormatCases::conv);
        }
        LayerStack.Config c = LayerCases.smallStack();
        list.both("the states of a whole layer stack saved after prefill resume decoding on another backend instance",
                "LayerStack.State+StateFormat", "ids [2, 9], prefill of 5, 4 decode steps",
                t -> Requirement.of(t).withModels(), true,
                (s, seed) -> stack(s, seed, c));
        return list.cases();
    }

    /** A state round trip of one kernel family, from the first half's backend to the second's. */
    @FunctionalInterface
    private interface RoundTrip {
        void run(CheckSession s, long seed, Halves halves) throws Exception;
    }

    private static void kernel(CaseList list, Target target, String family, Requirement.Factory requirement,
            String shape, int seq, int prefill, RoundTrip body) {
        String desc = "a " + family + " state saved after prefill resumes decoding on " + target.words;
        String text = shape + ", prefill of " + prefill + ", " + (seq - prefill) + " decode steps";
        if (target == Target.F64_TO_F32) {
            long seed = 8900 + list.cases().size();
            list.add(desc, "StateFormat", text, DType.F32, seed, requirement.of(DType.F32), false, s -> {
                if (!s.backend().capabilities().precisions().contains(DType.F64)) {
                    s.skip("backend " + s.backend().name() + " does not compute in f64, so no f64 state to convert");
                }
                body.run(s, seed, new Halves(s.backend(), DType.F64, s.backend(), ""));
            });
            return;
        }
        list.both(desc, "StateFormat", text, requirement, target == Target.OTHER, (s, seed) -> {
            for (Halves h : halves(s, target, requirement)) {
                body.run(s, seed, h);
            }
        });
    }

    /** Saves through the byte format and restores with {@code restore} onto {@code on} in {@code dtype}. */
    private static <S extends RecurrentState> S roundTrip(CheckSession s, RecurrentState saved, Backend on, DType dtype,
            Restorer<S> restore) throws CorruptStateException {
        byte[] bytes = StateFormat.encode(List.of(saved.snapshot()));
        List<StateSnapshot> loaded = StateFormat.decode(bytes);
        s.expect(loaded.size() == 1, "StateFormat.decode returned " + loaded.size() + " states, expected 1");
        s.expect(loaded.get(0).position() == saved.position(), "the loaded state is at position "
                + loaded.get(0).position() + ", saved at " + saved.position());
        saved.close();
        S restored = s.own(restore.restore(on, loaded.get(0), dtype));
        s.expect(restored.backend() == on, "the restored state lives on " + restored.backend() + ", expected " + on);
        return restored;
    }

    @FunctionalInterface
    private interface Restorer<S extends RecurrentState> {
        S restore(Backend backend, StateSnapshot snapshot, DType dtype);
    }

    /**
     * The backend and precision the first half runs on, and the backend the second half resumes on.
     *
     * @param label appended to the names of compared outputs (which backend resumed)
     */
    private record Halves(Backend first, DType firstType, Backend second, String label) {}

    private static List<Halves> halves(CheckSession s, Target target, Requirement.Factory requirement) {
        return switch (target) {
            case SAME -> List.of(new Halves(s.backend(), s.dtype(), s.backend(), ""));
            case OTHER -> List.of(new Halves(s.backend(), s.dtype(), s.anotherInstance(), ""));
            case F64_TO_F32 -> List.of(new Halves(s.backend(), DType.F64, s.backend(), ""));
            case OTHER_BACKENDS -> otherBackends(s, requirement);
        };
    }

    /** Every usable provider other than the one under test that runs the case; skips the case when none. */
    private static List<Halves> otherBackends(CheckSession s, Requirement.Factory requirement) {
        List<Halves> out = new java.util.ArrayList<>();
        List<String> passedOver = new java.util.ArrayList<>();
        for (Backends.ProviderStatus p : Backends.list()) {
            if (p.name().equalsIgnoreCase(s.backend().name()) || !p.availability().usable()) {
                continue;
            }
            Backend other = s.own(Backends.select(p.name()));
            java.util.Optional<String> missing = requirement.of(s.dtype()).missingFrom(other.name(),
                    other.capabilities());
            if (missing.isPresent()) {
                passedOver.add(missing.get());
                continue;
            }
            out.add(new Halves(s.backend(), s.dtype(), other, " (resumed on " + other.name() + ")"));
        }
        if (out.isEmpty()) {
            s.skip("no other usable backend on the class or module path runs this case"
                    + (passedOver.isEmpty() ? "" : ": " + String.join("; ", passedOver)));
        }
        return out;
    }

    /** A session view that uploads in the first half's precision. */
    private static CheckSession firstHalf(CheckSession s, Halves h) {
        return h.firstType() == s.dtype() ? s : s.inPrecision(h.firstType());
    }

    private static void linear(CheckSession s, long seed, Halves halves) throws Exception {
        int b = 2;
        int h = 2;
        int seq = 30;
        int p = 17;
        int f = 16;
        int dv = 8;
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(f));
        int e = spec.expandedDim();
        Inputs gen = new Inputs(seed);
        double[] q = gen.gaussian(b * h * seq * f, 1);
        double[] k = gen.gaussian(b * h * seq * f, 1);
        double[] v = gen.gaussian(b * h * seq * dv, 1);
        double[] kv = new double[b * h * dv * e];
        double[] z = new double[b * h * e];
        double[] ref = Reference.linearAttention(spec, q, k, v, b, h, seq, dv, kv, z);
        CheckSession first = firstHalf(s, halves);
        Plan plan = Plan.prefillThenDecode(p, seq);
        Plan.Kernel<LinearAttentionState> kernel = (be, tq, tk, tv, st, o, decode) -> {
            if (decode) {
                be.linearAttentionDecode(spec, tq, tk, tv, st, o);
            } else {
                be.linearAttentionPrefill(spec, tq, tk, tv, st, o);
            }
        };
        double[] out = new double[ref.length];
        LinearAttentionState st = LinearAttentionState.zeros(halves.first(), b, h, e, dv, halves.firstType());
        try {
            plan.runSteps(first, halves.first(), 0, 1, q, k, v, b, h, f, dv, st, kernel, out);
        } finally {
            s.own(st);
        }
        LinearAttentionState restored = roundTrip(s, st, halves.second(), s.dtype(), LinearAttentionState::restore);
        plan.runSteps(s, halves.second(), 1, plan.steps().size(), q, k, v, b, h, f, dv, restored, kernel, out);
        s.compare("y" + halves.label(), out, ref, Tolerances.Kind.SINGLE);
        s.compare("state.kv" + halves.label(), restored.kv(), kv, Tolerances.Kind.LONG);
        s.compare("state.z" + halves.label(), restored.z(), z, Tolerances.Kind.LONG);
    }

    private static void window(CheckSession s, long seed, Halves halves) throws Exception {
        int b = 2;
        int h = 2;
        int seq = 20;
        int p = 9;
        int d = 8;
        SlidingWindowSpec spec = SlidingWindowSpec.of(5);
        Inputs gen = new Inputs(seed);
        double[] q = gen.gaussian(b * h * seq * d, 1);
        double[] k = gen.gaussian(b * h * seq * d, 1);
        double[] v = gen.gaussian(b * h * seq * d, 1);
        int cap = 6;
        double[] ringK = new double[b * h * cap * d];
        double[] ringV = new double[b * h * cap * d];
        double[] ref = Reference.slidingWindow(spec, q, k, v, b, h, seq, d, d, ringK, ringV, cap, 0);
        Plan plan = Plan.prefillThenDecode(p, seq);
        Plan.Kernel<WindowState> kernel = (be, tq, tk, tv, st, o, decode) -> {
            if (decode) {
                be.slidingWindowDecode(spec, tq, tk, tv, st, o);
            } else {
                be.slidingWindowPrefill(spec, tq, tk, tv, st, o);
            }
        };
        double[] out = new double[ref.length];
        WindowState st = WindowState.empty(halves.first(), b, h, d, d, 5, halves.firstType());
        try {
            plan.runSteps(firstHalf(s, halves), halves.first(), 0, 1, q, k, v, b, h, d, d, st, kernel, out);
        } finally {
            s.own(st);
        }
        WindowState restored = roundTrip(s, st, halves.second(), s.dtype(), WindowState::restore);
        plan.runSteps(s, halves.second(), 1, plan.steps().size(), q, k, v, b, h, d, d, restored, kernel, out);
        s.compare("y" + halves.label(), out, ref, Tolerances.Kind.SINGLE);
        s.compare("state.keys" + halves.label(), restored.keys(), ringK, Tolerances.Kind.SINGLE);
        s.compare("state.values" + halves.label(), restored.values(), ringV, Tolerances.Kind.SINGLE);
    }

    private static void based(CheckSession s, long seed, Halves halves) throws Exception {
        int b = 1;
        int h = 2;
        int seq = 20;
        int p = 11;
        int f = 8;
        int dv = 8;
        BasedAttentionSpec spec = BasedAttentionSpec.of(new Taylor(f), 4);
        int e = spec.featureMap().outputDim();
        int cap = 5;
        Inputs gen = new Inputs(seed);
        double[] q = gen.gaussian(b * h * seq * f, 1);
        double[] k = gen.gaussian(b * h * seq * f, 1);
        double[] v = gen.gaussian(b * h * seq * dv, 1);
        double[] kv = new double[b * h * dv * e];
        double[] z = new double[b * h * e];
        double[] ringK = new double[b * h * cap * f];
        double[] ringV = new double[b * h * cap * dv];
        double[] ref = Reference.basedAttention(spec, q, k, v, b, h, seq, dv, kv, z, ringK, ringV, 0);
        Plan plan = Plan.prefillThenDecode(p, seq);
        Plan.Kernel<BasedAttentionState> kernel = (be, tq, tk, tv, st, o, decode) -> {
            if (decode) {
                be.basedAttentionDecode(spec, tq, tk, tv, st, o);
            } else {
                be.basedAttentionPrefill(spec, tq, tk, tv, st, o);
            }
        };
        double[] out = new double[ref.length];
        BasedAttentionState st = BasedAttentionState.empty(halves.first(), b, h, f, e, dv, 4, halves.firstType());
        try {
            plan.runSteps(firstHalf(s, halves), halves.first(), 0, 1, q, k, v, b, h, f, dv, st, kernel, out);
        } finally {
            s.own(st);
        }
        BasedAttentionState restored = roundTrip(s, st, halves.second(), s.dtype(), BasedAttentionState::restore);
        plan.runSteps(s, halves.second(), 1, plan.steps().size(), q, k, v, b, h, f, dv, restored, kernel, out);
        s.compare("y" + halves.label(), out, ref, Tolerances.Kind.FUSED);
        s.compare("state.far.kv" + halves.label(), restored.far().kv(), kv, Tolerances.Kind.LONG);
        s.compare("state.far.z" + halves.label(), restored.far().z(), z, Tolerances.Kind.LONG);
        s.compare("state.near.keys" + halves.label(), restored.near().keys(), ringK, Tolerances.Kind.SINGLE);
        s.compare("state.near.values" + halves.label(), restored.near().values(), ringV, Tolerances.Kind.SINGLE);
    }

    private static void conv(CheckSession s, long seed, Halves halves) throws Exception {
        int b = 2;
        int seq = 9;
        int p = 4;
        int c = 8;
        int kernel = 3;
        Inputs gen = new Inputs(seed);
        double[] x = gen.gaussian(b * seq * c, 1);
        double[] w = gen.gaussian(c * kernel, 0.5);
        double[] window = new double[b * c * kernel];
        double[] ref = Reference.causalConv(x, b, seq, c, w, kernel, window);
        CheckSession first = firstHalf(s, halves);
        double[] out = new double[ref.length];
        ConvState st = ConvState.zeros(halves.first(), b, c, kernel, halves.firstType());
        try {
            Tensor weight = first.input(halves.first(), "weight", w, Shape.of(c, kernel));
            Tensor in = first.input(halves.first(), "x", Inputs.tokens(x, b, seq, c, 0, p), Shape.of(b, p, c));
            Tensor o = first.poisoned(halves.first(), Shape.of(b, p, c));
            halves.first().causalConv(in, weight, st, o);
            Inputs.place(first.download(o), out, b, seq, c, 0, p);
        } finally {
            s.own(st);
        }
        ConvState restored = roundTrip(s, st, halves.second(), s.dtype(), ConvState::restore);
        Tensor weight = s.input(halves.second(), "weight", w, Shape.of(c, kernel));
        for (int t = p; t < seq; t++) {
            Tensor in = s.input(halves.second(), "x", Inputs.tokens(x, b, seq, c, t, t + 1), Shape.of(b, 1, c));
            Tensor o = s.poisoned(halves.second(), Shape.of(b, 1, c));
            halves.second().causalConv(in, weight, restored, o);
            Inputs.place(s.download(o), out, b, seq, c, t, 1);
        }
        s.compare("y" + halves.label(), out, ref, Tolerances.Kind.SINGLE);
        s.compare("state.window" + halves.label(), restored.window(), window, Tolerances.Kind.SINGLE);
    }

    private static void stack(CheckSession s, long seed, LayerStack.Config c) throws CorruptStateException {
        int batch = 2;
        int seq = 9;
        int p = 5;
        Map<String, HostTensor> w = LayerStack.randomWeights(c, seed);
        int[] ids = new Inputs(seed).ids(batch * seq, c.vocabSize());
        double[] expected = LayerReference.stack(c, w, ids, batch, seq, LayerReference.newStates(c, batch));
        int v = c.vocabSize();
        double[] got = new double[expected.length];
        LayerStack first = s.own(LayerStack.load(s.backend(), s.dtype(), WeightSource.of(w), c));
        LayerStack.State state = first.newState(batch);
        int[] head = new int[batch * p];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(ids, b * seq, head, b * p, p);
        }
        try {
            Tensor logits = s.own(first.prefill(head, batch, p, state));
            Inputs.place(s.download(logits), got, batch, seq, v, 0, p);
        } finally {
            s.own(state);
        }
        byte[] bytes = StateFormat.encode(state.snapshots());
        state.close();
        Backend other = s.anotherInstance();
        LayerStack second = s.own(LayerStack.load(other, s.dtype(), WeightSource.of(w), c));
        LayerStack.State restored = s.own(LayerStack.State.restore(second, StateFormat.decode(bytes)));
        s.expect(restored.position() == p, "the restored stack is at position " + restored.position() + ", saved at "
                + p);
        for (int t = p; t < seq; t++) {
            int[] step = new int[batch];
            for (int b = 0; b < batch; b++) {
                step[b] = ids[b * seq + t];
            }
            Tensor l = s.own(second.decode(step, restored));
            Inputs.place(s.download(l), got, batch, seq, v, t, 1);
        }
        s.compare("logits", got, expected, Tolerances.Kind.LOGITS);
    }
}
