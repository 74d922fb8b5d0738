package dev.based4j.conformance;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.reference.Reference;
import dev.based4j.Operation;
import dev.based4j.state.WindowState;
import java.util.List;
import java.util.OptionalDouble;

/** Sliding-window attention with its ring buffer (and unbounded full attention) against {@link Reference}. */
final class SlidingWindowCases {
    private SlidingWindowCases() {}

    private record Dims(int batch, int heads, int seq, int keyDim, int valueDim) {
        String text(SlidingWindowSpec spec) {
            return "batch " + batch + ", heads " + heads + ", seq " + seq + ", dk " + keyDim + ", dv " + valueDim
                    + ", lookback " + (spec.isUnbounded() ? "unbounded" : String.valueOf(spec.lookback()))
                    + (spec.scale().isPresent() ? ", scale " + spec.scale().getAsDouble() : "");
        }
    }

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.SLIDING_WINDOW, "sliding-window", 3000);
        SlidingWindowSpec w4 = SlidingWindowSpec.of(4);
        SlidingWindowSpec w8 = SlidingWindowSpec.of(8);
        String prefill = "sliding-window prefill matches the float64 reference";
        add(list, prefill + " for a single token", w4, new Dims(1, 1, 1, 16, 16), Plan.whole(1));
        add(list, prefill + " when seq < lookback", w8, new Dims(1, 2, 5, 16, 16), Plan.whole(5));
        add(list, prefill + " when seq = lookback", w8, new Dims(2, 1, 8, 16, 16), Plan.whole(8));
        add(list, prefill + " when seq = lookback + 1 fills the ring", w8, new Dims(1, 1, 9, 16, 16), Plan.whole(9));
        add(list, prefill + " when the ring wraps several times", w8, new Dims(2, 3, 40, 16, 16), Plan.whole(40));
        add(list, prefill + " with lookback 0 (each query sees itself only)", SlidingWindowSpec.of(0),
                new Dims(1, 2, 6, 8, 8), Plan.whole(6));
        add(list, prefill + " with key and value dims that differ", w4, new Dims(1, 2, 11, 16, 8), Plan.whole(11));
        add(list, prefill + " with an explicit softmax scale", new SlidingWindowSpec(4, OptionalDouble.of(0.5)),
                new Dims(1, 1, 10, 8, 8), Plan.whole(10));
        add(list, prefill + " for a long sequence with lookback 64", SlidingWindowSpec.of(64),
                new Dims(1, 2, 150, 16, 16), Plan.whole(150));
        add(list, "full causal attention (unbounded lookback) matches the float64 reference",
                SlidingWindowSpec.unbounded(), new Dims(1, 2, 20, 8, 8), Plan.whole(20));
        add(list, "sliding-window prefill continues from a wrapped ring", w8, new Dims(2, 2, 33, 16, 16),
                Plan.prefillThenPrefill(13, 33));
        add(list, "sliding-window decode continues exactly where prefill stopped", w8, new Dims(1, 2, 20, 16, 16),
                Plan.prefillThenDecode(5, 20));
        add(list, "sliding-window decode from an empty ring equals prefill", SlidingWindowSpec.of(3),
                new Dims(2, 1, 10, 8, 16), Plan.prefillThenDecode(0, 10));
        add(list, "full-attention decode continues where prefill stopped", SlidingWindowSpec.unbounded(),
                new Dims(1, 1, 12, 8, 8), Plan.prefillThenDecode(6, 12));
        return list.cases();
    }

    private static void add(CaseList list, String description, SlidingWindowSpec spec, Dims d, Plan plan) {
        String shape = d.text(spec) + (plan.isWhole() ? "" : ", " + plan.describe());
        Tolerances.Kind kind = d.seq() > 128 ? Tolerances.Kind.LONG : Tolerances.Kind.SINGLE;
        list.both(description, plan.isWhole() ? "slidingWindowPrefill" : "slidingWindowPrefill+Decode", shape,
                Requirement.needs(Operation.SLIDING_WINDOW), false, (s, seed) -> check(s, seed, spec, d, plan, kind));
    }

    private static void check(CheckSession s, long seed, SlidingWindowSpec spec, Dims d, Plan plan,
            Tolerances.Kind kind) {
        int b = d.batch();
        int h = d.heads();
        int seq = d.seq();
        Inputs gen = new Inputs(seed);
        double[] q = gen.gaussian(b * h * seq * d.keyDim(), 1);
        double[] k = gen.gaussian(b * h * seq * d.keyDim(), 1);
        double[] v = gen.gaussian(b * h * seq * d.valueDim(), 1);
        WindowState state = s.own(spec.isUnbounded()
                ? WindowState.growing(s.backend(), b, h, d.keyDim(), d.valueDim(), seq + 4, s.dtype())
                : WindowState.empty(s.backend(), b, h, d.keyDim(), d.valueDim(), spec.lookback(), s.dtype()));
        int cap = state.capacity();
        double[] ringK = new double[b * h * cap * d.keyDim()];
        double[] ringV = new double[b * h * cap * d.valueDim()];
        double[] ref = Reference.slidingWindow(spec, q, k, v, b, h, seq, d.keyDim(), d.valueDim(), ringK, ringV, cap, 0);
        double[] out = plan.run(s, q, k, v, b, h, d.keyDim(), d.valueDim(), state, (be, tq, tk, tv, st, o, decode) -> {
            if (decode) {
                be.slidingWindowDecode(spec, tq, tk, tv, st, o);
            } else {
                be.slidingWindowPrefill(spec, tq, tk, tv, st, o);
            }
        });
        s.compare("y", out, ref, kind);
        s.compare("state.keys", state.keys(), ringK, Tolerances.Kind.SINGLE);
        s.compare("state.values", state.values(), ringV, Tolerances.Kind.SINGLE);
    }
}
