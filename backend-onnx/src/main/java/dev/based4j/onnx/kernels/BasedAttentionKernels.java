package dev.based4j.onnx.kernels;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.spi.BasedAttentionFamily;

/**
 * The fused linear-plus-window layer ({@code sdk-conventions.md}) as ONNX graphs, continuing from
 * {@link dev.based4j.state.BasedAttentionState} in the graph.
 *
 * <p>With the ext sequence of {@link SlidingWindowKernels} ({@code C = lookback + 1} ring entries in position order,
 * then the {@code L} new tokens), a query at call index {@code n} sees exactly (exp terms) the ext keys
 * {@code n+1 .. n+C}, and linearly (φ terms) the far state plus the ext keys {@code j ≤ n}. The far part is
 * therefore ordinary causal linear attention of the queries against the first {@code L} ext entries (keys whose
 * ring slot was never written are masked out), starting from the far state; its final state is the new far
 * state, since exactly those entries leave the ring during the call. The two parts share one normaliser:
 * {@code y = (num_near + e^{-c}·num_far) / (den_near + e^{-c}·(den_far + eps))} with {@code c} the row maximum
 * of the near logits, the definition multiplied through by {@code e^{-c}}.
 *
 * <p>As a kernel family, prefill of more than {@value SlidingWindowKernels#BAND_FULL_MAX_SEQ} tokens takes the
 * {@link Form#LONG} form, whose memory grows linearly; shorter calls and decode the {@link Form#SHORT} one.
 */
public final class BasedAttentionKernels implements BasedAttentionFamily<OnnxBuffer> {
    private final SessionCache sessions;

    /** @param sessions the backend's compiled graphs */
    public BasedAttentionKernels(SessionCache sessions) {
        this.sessions = sessions;
    }

    /**
     * Prefill in the {@link Form#LONG} form above {@value SlidingWindowKernels#BAND_FULL_MAX_SEQ} tokens, else the
     * {@link Form#SHORT} one; when that form's intermediates would exceed the {@link ScratchBudget} and the other's
     * fit, the other.
     */
    @Override
    public void prefill(BasedAttentionFamily.Call<OnnxBuffer> c) {
        Form wanted = c.seq() > SlidingWindowKernels.BAND_FULL_MAX_SEQ ? Form.LONG : Form.SHORT;
        Form other = wanted == Form.LONG ? Form.SHORT : Form.LONG;
        run(c, !ScratchBudget.fits(c.dtype(), needs(c, wanted)) && ScratchBudget.fits(c.dtype(), needs(c, other))
                ? other : wanted);
    }

    @Override
    public void decode(BasedAttentionFamily.Call<OnnxBuffer> c) {
        run(c, Form.SHORT);
    }

    /** The near scores, and the far part's features and scores (quadratic) or chunk states (chunked). */
    private static ScratchBudget.Need[] needs(BasedAttentionFamily.Call<OnnxBuffer> c, Form form) {
        long b = c.batch();
        long h = c.heads();
        long s = c.seq();
        long d = c.expandedDim();
        ScratchBudget.Need near = SlidingWindowKernels.scores(b, h, s, c.capacity(), c.spec().lookback(),
                form == Form.LONG);
        if (form == Form.LONG) {
            long chunk = SlidingWindowKernels.BLOCK;
            long padded = ScratchBudget.roundUp(s, chunk);
            return new ScratchBudget.Need[] {near, new ScratchBudget.Need("features", b, h, padded, d),
                    new ScratchBudget.Need("chunk states", b, h, padded / chunk, c.valueDim(), d)};
        }
        return new ScratchBudget.Need[] {near, new ScratchBudget.Need("features", b, h, s, d),
                new ScratchBudget.Need("far scores", b, h, s, s)};
    }

    private void run(BasedAttentionFamily.Call<OnnxBuffer> c, Form form) {
        ScratchBudget.check("fused-layer " + (c.seq() == 1 ? "step" : "prefill") + " ("
                + form.name().toLowerCase(java.util.Locale.ROOT) + " form)", c.dtype(), needs(c, form));
        BasedAttentionSpec spec = c.spec();
        long b = c.batch();
        long h = c.heads();
        long s = c.seq();
        long f = c.keyDim();
        long dv = c.valueDim();
        long d = c.expandedDim();
        long cap = c.capacity();
        KernelRun.run(sessions, new SessionCache.Key("based_attention_" + form, spec, c.dtype()),
                () -> standalone(spec, form, ElementType.of(c.dtype())),
                r -> r.in("q", c.q(), b, h, s, f).in("k", c.k(), b, h, s, f).in("v", c.v(), b, h, s, dv)
                        .in("kv", c.kv(), b, h, dv, d).in("z", c.z(), b, h, d)
                        .in("ring_k", c.keys(), b, h, cap, f).in("ring_v", c.values(), b, h, cap, dv)
                        .longs("pos", c.position())
                        .out("y", c.out(), b, h, s, dv)
                        .state("kv_out", c.kv(), b, h, dv, d).state("z_out", c.z(), b, h, d)
                        .state("ring_k_out", c.keys(), b, h, cap, f).state("ring_v_out", c.values(), b, h, cap, dv));
    }

    /** How the graph evaluates a call. */
    public enum Form {
        /** Full masked band and the quadratic far part: short sequences and decode. */
        SHORT,
        /** Blocked band and the chunked far part: memory linear in the sequence. */
        LONG
    }

    /** The output and the updated state. */
    public record Outputs(Value y, Value kv, Value z, Value ringK, Value ringV) {}

    /**
     * A standalone graph: inputs {@code q, k [B,H,L,f]}, {@code v [B,H,L,dv]}, {@code kv [B,H,dv,D]},
     * {@code z [B,H,D]}, {@code ring_k [B,H,C,f]}, {@code ring_v [B,H,C,dv]}, {@code pos [1]} (INT64); outputs
     * {@code y}, {@code kv_out}, {@code z_out}, {@code ring_k_out}, {@code ring_v_out}.
     */
    public static GraphBuilder standalone(BasedAttentionSpec spec, Form form, ElementType type) {
        FeatureMap map = spec.featureMap();
        int f = map.inputDim();
        int d = map.outputDim();
        int cap = spec.lookback() + 1;
        GraphBuilder g = new GraphBuilder("based_attention_" + form.name().toLowerCase(java.util.Locale.ROOT) + "["
                + FeatureMapKernels.describe(map) + ", lookback " + spec.lookback() + ", "
                + FeatureMapKernels.label(type) + "]", type);
        Value q = g.input("q", "batch", "heads", "seq", f);
        Value k = g.input("k", "batch", "heads", "seq", f);
        Value v = g.input("v", "batch", "heads", "seq", "dv");
        Value kv = g.input("kv", "batch", "heads", "dv", d);
        Value z = g.input("z", "batch", "heads", d);
        Value ringK = g.input("ring_k", "batch", "heads", cap, f);
        Value ringV = g.input("ring_v", "batch", "heads", cap, "dv");
        Value pos = g.input("pos", ElementType.INT64, 1);
        Outputs o = apply(g, spec, form, q, k, v, kv, z, ringK, ringV, pos);
        g.output(o.y(), "y", "batch", "heads", "seq", "dv");
        g.output(o.kv(), "kv_out", "batch", "heads", "dv", d);
        g.output(o.z(), "z_out", "batch", "heads", d);
        g.output(o.ringK(), "ring_k_out", "batch", "heads", cap, f);
        g.output(o.ringV(), "ring_v_out", "batch", "heads", cap, "dv");
        return g;
    }

    /** The fused layer continuing from its state at position {@code pos}. */
    public static Outputs apply(GraphBuilder g, BasedAttentionSpec spec, Form form, Value q, Value k, Value v,
            Value kv, Value z, Value ringK, Value ringV, Value pos) {
        return g.scoped("based_attention", () -> {
            FeatureMap map = spec.featureMap();
            Value cap = g.shape(ringK, 2, 3);
            Value len = g.shape(q, 2, 3);
            Value extK = g.concat(2, SlidingWindowKernels.ordered(g, ringK, pos), k);
            Value extV = g.concat(2, SlidingWindowKernels.ordered(g, ringV, pos), v);
            Value scale = g.scalar(spec.effectiveScale());
            SlidingWindowKernels.Band near = form == Form.LONG
                    ? SlidingWindowKernels.bandBlocked(g, q, extK, extV, pos, cap, spec.lookback(), scale, SlidingWindowKernels.BLOCK)
                    : SlidingWindowKernels.bandFull(g, q, extK, extV, pos, cap, spec.lookback(), scale);
            // far part: the first L ext entries, the ones that leave the ring during this call
            Value farK = g.slice(extK, g.longs(0), len, g.longs(2));
            Value farV = g.slice(extV, g.longs(0), len, g.longs(2));
            Value j = g.range(g.scalarLong(0), g.squeeze(len, 0), g.scalarLong(1));
            Value keyMask = g.cast(g.greaterOrEqual(j, g.sub(cap, pos)), g.computeType());
            Value phiQ = FeatureMapKernels.phi(g, map, q);
            Value phiK = FeatureMapKernels.phi(g, map, farK);
            LinearAttentionKernels.Parts far = form == Form.LONG
                    ? LinearAttentionKernels.chunkedParts(g, map, q, farK, phiQ, phiK, farV, kv, z, keyMask,
                            SlidingWindowKernels.BLOCK)
                    : LinearAttentionKernels.quadraticParts(g, map, q, farK, phiQ, phiK, farV, kv, z, keyMask);
            Value gate = g.op("Exp", g.op("Neg", near.max()));
            Value num = g.add(near.num(), g.mul(gate, far.num()));
            Value den = g.add(near.den(), g.mul(gate, g.add(far.den(), g.scalar(spec.eps()))));
            return new Outputs(g.div(num, den), far.kv(), far.z(), SlidingWindowKernels.updated(g, extK, pos, len),
                    SlidingWindowKernels.updated(g, extV, pos, len));
        });
    }
}
