package dev.based4j.conformance;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Relu;
import dev.based4j.featuremap.Square;
import dev.based4j.featuremap.Taylor;
import dev.based4j.reference.Reference;
import dev.based4j.Operation;
import dev.based4j.state.BasedAttentionState;
import java.util.List;

/** The fused linear-plus-window layer against {@link Reference#basedAttention}. */
final class BasedAttentionCases {
    private BasedAttentionCases() {}

    private record Dims(int batch, int heads, int seq, int valueDim, double qkStd) {
        String text(BasedAttentionSpec spec) {
            return "batch " + batch + ", heads " + heads + ", seq " + seq + ", f " + spec.featureMap().inputDim()
                    + ", dv " + valueDim + ", lookback " + spec.lookback() + (qkStd != 1 ? ", q/k std " + qkStd : "");
        }
    }

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.BASED_ATTENTION, "fused-attention", 4000);
        String prefill = "fused attention prefill matches the float64 reference";
        BasedAttentionSpec t16w3 = BasedAttentionSpec.of(new Taylor(16), 3);
        add(list, prefill + " for a single token", t16w3, new Dims(1, 1, 1, 16, 1), Plan.whole(1));
        add(list, prefill + " when seq < lookback + 1 (nothing far yet)", BasedAttentionSpec.of(new Taylor(8), 8),
                new Dims(2, 1, 5, 16, 1), Plan.whole(5));
        add(list, prefill + " with lookback 0 (only the query itself is exact)", BasedAttentionSpec.of(new Taylor(8), 0),
                new Dims(1, 4, 20, 16, 1), Plan.whole(20));
        add(list, prefill + " with several heads and a long window", BasedAttentionSpec.of(new Taylor(16), 64),
                new Dims(2, 2, 100, 32, 1), Plan.whole(100));
        add(list, prefill + " with large logits (stabilised exponentials)", BasedAttentionSpec.of(new Taylor(16), 16),
                new Dims(1, 2, 80, 32, 4), Plan.whole(80));
        for (FeatureMap map : List.of(new PosElu(8), new Relu(8), new Square(8), Performer.orthogonal(8, 32, 11))) {
            add(list, prefill + " with the " + map.kind().label() + " feature map for the far keys",
                    BasedAttentionSpec.of(map, 4), new Dims(1, 2, 17, 8, 1), Plan.whole(17));
        }
        add(list, "fused attention decode continues exactly where prefill stopped",
                BasedAttentionSpec.of(new Taylor(16), 16), new Dims(2, 2, 57, 16, 1), Plan.prefillThenDecode(37, 57));
        add(list, "fused attention decode from an empty state equals prefill", BasedAttentionSpec.of(new Taylor(8), 3),
                new Dims(2, 1, 10, 16, 1), Plan.prefillThenDecode(0, 10));
        add(list, "fused attention prefill continues from a non-empty state", BasedAttentionSpec.of(new Taylor(8), 5),
                new Dims(1, 2, 31, 8, 1), Plan.prefillThenPrefill(12, 31));
        add(list, "fused attention decode with large logits continues where prefill stopped",
                BasedAttentionSpec.of(new Taylor(16), 8), new Dims(1, 1, 40, 16, 4), Plan.prefillThenDecode(20, 40));
        return list.cases();
    }

    private static void add(CaseList list, String description, BasedAttentionSpec spec, Dims d, Plan plan) {
        String shape = d.text(spec) + (plan.isWhole() ? "" : ", " + plan.describe());
        list.both(description, plan.isWhole() ? "basedAttentionPrefill" : "basedAttentionPrefill+Decode", shape,
                t -> Requirement.of(t, Operation.BASED_ATTENTION).with(spec.featureMap()), false,
                (s, seed) -> check(s, seed, spec, d, plan));
    }

    private static void check(CheckSession s, long seed, BasedAttentionSpec spec, Dims d, Plan plan) {
        int b = d.batch();
        int h = d.heads();
        int seq = d.seq();
        int f = spec.featureMap().inputDim();
        int e = spec.featureMap().outputDim();
        int dv = d.valueDim();
        int cap = spec.lookback() + 1;
        Inputs gen = new Inputs(seed);
        double[] q = gen.gaussian(b * h * seq * f, d.qkStd());
        double[] k = gen.gaussian(b * h * seq * f, d.qkStd());
        double[] v = gen.gaussian(b * h * seq * dv, 1);
        double[] kv = new double[b * h * dv * e];
        double[] z = new double[b * h * e];
        double[] ringK = new double[b * h * cap * f];
        double[] ringV = new double[b * h * cap * dv];
        double[] ref = Reference.basedAttention(spec, q, k, v, b, h, seq, dv, kv, z, ringK, ringV, 0);
        BasedAttentionState state = s.own(
                BasedAttentionState.empty(s.backend(), b, h, f, e, dv, spec.lookback(), s.dtype()));
        double[] out = plan.run(s, q, k, v, b, h, f, dv, state, (be, tq, tk, tv, st, o, decode) -> {
            if (decode) {
                be.basedAttentionDecode(spec, tq, tk, tv, st, o);
            } else {
                be.basedAttentionPrefill(spec, tq, tk, tv, st, o);
            }
        });
        s.compare("y", out, ref, Tolerances.Kind.FUSED);
        s.compare("state.far.kv", state.far().kv(), kv, Tolerances.Kind.LONG);
        s.compare("state.far.z", state.far().z(), z, Tolerances.Kind.LONG);
        s.compare("state.near.keys", state.near().keys(), ringK, Tolerances.Kind.SINGLE);
        s.compare("state.near.values", state.near().values(), ringV, Tolerances.Kind.SINGLE);
    }
}
