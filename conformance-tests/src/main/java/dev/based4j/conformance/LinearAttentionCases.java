package dev.based4j.conformance;

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
import dev.based4j.Operation;
import dev.based4j.state.LinearAttentionState;
import java.util.List;
import java.util.Locale;

/** Linear-attention prefill (every algorithm, every feature map) and decode against {@link Reference}. */
final class LinearAttentionCases {
    private LinearAttentionCases() {}

    /** Shapes: batch, heads, seq, f, dv, chunk. */
    private record Dims(int batch, int heads, int seq, int featureDim, int valueDim, int chunk) {
        String text() {
            return "batch " + batch + ", heads " + heads + ", seq " + seq + ", f " + featureDim + ", dv " + valueDim
                    + ", chunk " + chunk;
        }
    }

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.LINEAR_ATTENTION, "linear-attention", 2000);
        List<Dims> shapes = List.of(
                new Dims(1, 1, 1, 16, 16, 64),      // a single token
                new Dims(2, 3, 37, 8, 16, 16),      // batch and heads, seq not a multiple of the chunk
                new Dims(1, 2, 64, 16, 32, 16),     // seq a multiple of the chunk
                new Dims(1, 1, 200, 16, 16, 64));   // a long sequence over several default chunks
        for (PrefillAlgorithm algorithm : PrefillAlgorithm.values()) {
            for (Dims d : shapes) {
                LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(d.featureDim()))
                        .withAlgorithm(algorithm).withChunkSize(d.chunk());
                add(list, "linear attention prefill (" + algorithm.name().toLowerCase(Locale.ROOT)
                        + ") matches the float64 reference", spec, d, Plan.whole(d.seq()), false);
            }
        }
        Dims maps = new Dims(2, 2, 33, 16, 16, 16);
        for (FeatureMap map : positiveMaps(16)) {
            LinearAttentionSpec spec = spec(map);
            add(list, "linear attention prefill with the " + map.kind().label()
                    + " feature map matches the float64 reference", spec, maps, Plan.whole(maps.seq()),
                    positiveInputs(map));
            if (map.hasDecodeForm()) {
                add(list, "linear attention decode with the " + map.kind().label()
                        + " feature map continues exactly where prefill stopped", spec, maps,
                        Plan.prefillThenDecode(20, maps.seq()), positiveInputs(map));
            }
        }
        Dims cont = new Dims(2, 2, 37, 16, 16, 16);
        LinearAttentionSpec taylor = LinearAttentionSpec.of(new Taylor(16)).withChunkSize(16);
        add(list, "linear attention prefill continues from a non-empty state", taylor, cont,
                Plan.prefillThenPrefill(20, cont.seq()), false);
        add(list, "linear attention chunked prefill continues from a non-empty state",
                taylor.withAlgorithm(PrefillAlgorithm.CHUNKED), cont, Plan.prefillThenPrefill(13, cont.seq()), false);
        add(list, "linear attention decode continues exactly where prefill stopped", taylor, cont,
                Plan.prefillThenDecode(5, cont.seq()), false);
        Dims dec = new Dims(1, 3, 12, 8, 8, 64);
        add(list, "linear attention decode from an empty state equals prefill", LinearAttentionSpec.of(new Taylor(8)),
                dec, Plan.prefillThenDecode(0, dec.seq()), false);
        Dims single = new Dims(2, 1, 9, 16, 16, 64);
        add(list, "linear attention prefill of a single token continues a longer prefill", taylor, single,
                Plan.prefillThenPrefill(8, single.seq()), false);
        return list.cases();
    }

    /** The maps the comparison uses, with weights that keep every dot product positive (see {@link #spec}). */
    static List<FeatureMap> positiveMaps(int d) {
        AllPoly random = AllPoly.random(d, 77);
        double[] p2 = random.p2();
        for (int i = 0; i < p2.length; i++) {
            // a non-negative P2 keeps φ(q)·φ(k) > 0, so f32 rounding is not amplified by a vanishing normaliser
            p2[i] = Math.abs(p2[i]);
        }
        return List.of(new Taylor(d), new Identity(d), new Relu(d), new PosElu(d), new Square(d), new CosFormer(d),
                Performer.orthogonal(d, 4 * d, 78), new AllPoly(d, random.p1(), p2));
    }

    /** The default spec for {@code map}, opting in to signed maps (their inputs are chosen positive). */
    static LinearAttentionSpec spec(FeatureMap map) {
        return new LinearAttentionSpec(map, LinearAttentionSpec.DEFAULT_EPS, PrefillAlgorithm.AUTO, 16,
                map.signedDotProduct());
    }

    /** Identity needs positive q and k (as the golden cases draw them) so that its normaliser stays away from 0. */
    static boolean positiveInputs(FeatureMap map) {
        return map instanceof Identity;
    }

    private static void add(CaseList list, String description, LinearAttentionSpec spec, Dims d, Plan plan,
            boolean positive) {
        String shape = d.text() + (plan.isWhole() ? "" : ", " + plan.describe());
        Tolerances.Kind kind = d.seq() > 128 ? Tolerances.Kind.LONG : Tolerances.Kind.SINGLE;
        list.both(description, plan.isWhole() ? "linearAttentionPrefill" : "linearAttentionPrefill+Decode", shape,
                t -> Requirement.of(t, Operation.LINEAR_ATTENTION).with(spec.featureMap()), false,
                (s, seed) -> check(s, seed, spec, d.batch(), d.heads(), d.seq(), d.valueDim(), plan, positive, kind));
    }

    /** Runs {@code plan} and compares the output and the final state with the reference of one whole prefill. */
    static void check(CheckSession s, long seed, LinearAttentionSpec spec, int batch, int heads, int seq, int dv,
            Plan plan, boolean positive, Tolerances.Kind kind) {
        int f = spec.featureDim();
        int e = spec.expandedDim();
        Inputs gen = new Inputs(seed);
        int n = batch * heads * seq;
        double[] q = positive ? gen.uniform(n * f, 0.05, 1) : gen.gaussian(n * f, 1);
        double[] k = positive ? gen.uniform(n * f, 0.05, 1) : gen.gaussian(n * f, 1);
        double[] v = gen.gaussian(n * dv, 1);
        double[] kv = new double[batch * heads * dv * e];
        double[] z = new double[batch * heads * e];
        double[] ref = Reference.linearAttention(spec, q, k, v, batch, heads, seq, dv, kv, z);
        LinearAttentionState state = s.own(LinearAttentionState.zeros(s.backend(), batch, heads, e, dv, s.dtype()));
        double[] out = plan.run(s, q, k, v, batch, heads, f, dv, state, (b, tq, tk, tv, st, o, decode) -> {
            if (decode) {
                b.linearAttentionDecode(spec, tq, tk, tv, st, o);
            } else {
                b.linearAttentionPrefill(spec, tq, tk, tv, st, o);
            }
        });
        s.compare("y", out, ref, kind);
        s.compare("state.kv", state.kv(), kv, Tolerances.Kind.LONG);
        s.compare("state.z", state.z(), z, Tolerances.Kind.LONG);
    }
}
