package dev.based4j.onnx.kernels;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.onnx.graph.Attribute;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.spi.SlidingWindowFamily;
import java.util.List;

/**
 * Sliding-window softmax attention as ONNX graphs ({@code sdk-conventions.md}), continuing from the ring buffer
 * of {@link dev.based4j.state.WindowState} entirely in the graph.
 *
 * <p>The ring ({@code [B,H,C,X]}, the token at absolute position {@code p} in slot {@code p mod C}) is first
 * gathered into position order, oldest first, and the new keys appended: the "extended" sequence of
 * {@code C + L} keys whose index {@code j} is position {@code pos - C + j}. A query at call index {@code n} then
 * sees ext keys {@code j} with {@code n + C - lookback ≤ j ≤ n + C} and {@code j ≥ C - pos} (slots never
 * written before the sequence start are masked). Afterwards the last {@code C} ext entries are gathered back into
 * slot order: this is exactly the ring the reference leaves (slots that received no token keep their content).
 *
 * <p>Two evaluations of the band: {@link #bandFull} scores every query against all {@code C + L} keys (any
 * lookback, including unbounded with a growing cache); {@link #bandBlocked} cuts the queries into blocks of
 * {@code block} tokens and gathers for each block only the {@code block + lookback} keys its band can reach,
 * so memory grows like {@code L·(block + lookback)} instead of {@code L·(C + L)}.
 *
 * <p>As a kernel family, prefill of more than {@value #BAND_FULL_MAX_SEQ} tokens with a bounded window takes the
 * blocked form; shorter calls, decode and unbounded attention the full one.
 */
public final class SlidingWindowKernels implements SlidingWindowFamily<OnnxBuffer> {
    /** Query block of the blocked band form. */
    public static final int BLOCK = 64;
    /** Longest sequence for which window and fused prefill score every query against every key. */
    public static final int BAND_FULL_MAX_SEQ = 128;

    private final SessionCache sessions;

    /** @param sessions the backend's compiled graphs */
    public SlidingWindowKernels(SessionCache sessions) {
        this.sessions = sessions;
    }

    /**
     * Prefill: a bounded window of more than {@value #BAND_FULL_MAX_SEQ} tokens in query blocks, else every query
     * against every key; when that form's scores would exceed the {@link ScratchBudget} and the other's fit, the other.
     */
    @Override
    public void prefill(SlidingWindowFamily.Call<OnnxBuffer> c) {
        boolean bounded = !c.spec().isUnbounded();
        Form wanted = bounded && c.seq() > BAND_FULL_MAX_SEQ ? Form.BLOCKED : Form.FULL;
        Form other = wanted == Form.FULL ? Form.BLOCKED : Form.FULL;
        Form form = bounded && !ScratchBudget.fits(c.dtype(), needs(c, wanted))
                && ScratchBudget.fits(c.dtype(), needs(c, other)) ? other : wanted;
        run(c, form);
    }

    @Override
    public void decode(SlidingWindowFamily.Call<OnnxBuffer> c) {
        run(c, Form.FULL);
    }

    private static ScratchBudget.Need[] needs(SlidingWindowFamily.Call<OnnxBuffer> c, Form form) {
        return new ScratchBudget.Need[] {scores(c.batch(), c.heads(), c.seq(), c.capacity(), c.spec().lookback(),
                form == Form.BLOCKED)};
    }

    /**
     * The scores of the band: {@code [B,H,L,C+L]} in the full form, {@code [B,H,blocks,BLOCK,BLOCK+lookback]} in the
     * blocked one. Shared with the fused layer.
     */
    static ScratchBudget.Need scores(long batch, long heads, long seq, long capacity, long lookback, boolean blocked) {
        if (blocked) {
            return new ScratchBudget.Need("band scores", batch, heads, ScratchBudget.roundUp(seq, BLOCK) / BLOCK, BLOCK,
                    BLOCK + lookback);
        }
        return new ScratchBudget.Need("scores", batch, heads, seq, capacity + seq);
    }

    private void run(SlidingWindowFamily.Call<OnnxBuffer> c, Form form) {
        SlidingWindowSpec spec = c.spec();
        long b = c.batch();
        long h = c.heads();
        long s = c.seq();
        long dk = c.keyDim();
        long dv = c.valueDim();
        long cap = c.capacity();
        ScratchBudget.check("sliding-window " + (c.seq() == 1 ? "step" : "prefill") + " ("
                + form.name().toLowerCase(java.util.Locale.ROOT) + " form)", c.dtype(), needs(c, form));
        KernelRun.run(sessions, new SessionCache.Key("sliding_window_" + form, spec, c.dtype()),
                () -> standalone(spec, form, ElementType.of(c.dtype())),
                r -> r.in("q", c.q(), b, h, s, dk).in("k", c.k(), b, h, s, dk).in("v", c.v(), b, h, s, dv)
                        .in("ring_k", c.keys(), b, h, cap, dk).in("ring_v", c.values(), b, h, cap, dv)
                        .longs("pos", c.position())
                        .out("y", c.out(), b, h, s, dv)
                        .state("ring_k_out", c.keys(), b, h, cap, dk).state("ring_v_out", c.values(), b, h, cap, dv));
    }

    /** How the band is evaluated. */
    public enum Form {
        /** Every query against every ext key, masked. */
        FULL,
        /** Query blocks against the keys their band reaches (bounded lookback only). */
        BLOCKED
    }

    /** Un-normalised band attention: {@code num [B,H,L,dv]}, {@code den [B,H,L,1]}, row maxima {@code max [B,H,L,1]}. */
    public record Band(Value num, Value den, Value max) {}

    /** The output and the updated ring. */
    public record Outputs(Value y, Value ringK, Value ringV) {}

    /**
     * A standalone graph: inputs {@code q, k [B,H,L,dk]}, {@code v [B,H,L,dv]}, {@code ring_k [B,H,C,dk]},
     * {@code ring_v [B,H,C,dv]}, {@code pos [1]} (INT64, tokens seen before); outputs {@code y},
     * {@code ring_k_out}, {@code ring_v_out}.
     */
    public static GraphBuilder standalone(SlidingWindowSpec spec, Form form, ElementType type) {
        String lookback = spec.isUnbounded() ? "unbounded" : String.valueOf(spec.lookback());
        GraphBuilder g = new GraphBuilder("sliding_window_" + form.name().toLowerCase(java.util.Locale.ROOT)
                + "[lookback " + lookback + ", " + FeatureMapKernels.label(type) + "]", type);
        Value q = g.input("q", "batch", "heads", "seq", "dk");
        Value k = g.input("k", "batch", "heads", "seq", "dk");
        Value v = g.input("v", "batch", "heads", "seq", "dv");
        Value ringK = g.input("ring_k", "batch", "heads", "capacity", "dk");
        Value ringV = g.input("ring_v", "batch", "heads", "capacity", "dv");
        Value pos = g.input("pos", ElementType.INT64, 1);
        Outputs o = apply(g, spec, form, q, k, v, ringK, ringV, pos);
        g.output(o.y(), "y", "batch", "heads", "seq", "dv");
        g.output(o.ringK(), "ring_k_out", "batch", "heads", "capacity", "dk");
        g.output(o.ringV(), "ring_v_out", "batch", "heads", "capacity", "dv");
        return g;
    }

    /** Window attention continuing from the ring at position {@code pos}. */
    public static Outputs apply(GraphBuilder g, SlidingWindowSpec spec, Form form, Value q, Value k, Value v,
            Value ringK, Value ringV, Value pos) {
        return g.scoped("sliding_window", () -> {
            Value extK = g.concat(2, ordered(g, ringK, pos), k);
            Value extV = g.concat(2, ordered(g, ringV, pos), v);
            Value scale = spec.scale().isPresent() ? g.scalar(spec.scale().getAsDouble()) : inverseSqrtLastDim(g, q);
            Band b = form == Form.BLOCKED
                    ? bandBlocked(g, q, extK, extV, pos, g.shape(ringK, 2, 3), spec.lookback(), scale, BLOCK)
                    : bandFull(g, q, extK, extV, pos, g.shape(ringK, 2, 3), spec.lookback(), scale);
            Value len = g.shape(q, 2, 3);
            return new Outputs(g.div(b.num(), b.den()), updated(g, extK, pos, len), updated(g, extV, pos, len));
        });
    }

    /** {@code 1/√dk} from the last dimension of {@code q}. */
    static Value inverseSqrtLastDim(GraphBuilder g, Value q) {
        Value dk = g.cast(g.squeeze(g.shape(q, -1), 0), g.computeType());
        return g.op("Reciprocal", g.op("Sqrt", dk));
    }

    /** The ring {@code [B,H,C,X]} in position order: ext index {@code i} holds position {@code pos - C + i}. */
    public static Value ordered(GraphBuilder g, Value ring, Value pos) {
        Value cap = g.shape(ring, 2, 3);
        Value i = g.range(g.scalarLong(0), g.squeeze(cap, 0), g.scalarLong(1));
        Value idx = g.op("Mod", g.add(g.sub(pos, cap), i), cap);
        return g.op("Gather", List.of(Attribute.i("axis", 2)), ring, idx);
    }

    /**
     * The ring after the call, in slot order, from the ext sequence {@code [B,H,C+L,X]}: slot {@code s} holds
     * the ext entry of position {@code ≡ s (mod C)} among the last {@code C}.
     */
    public static Value updated(GraphBuilder g, Value ext, Value pos, Value len) {
        Value total = g.shape(ext, 2, 3);
        Value cap = g.sub(total, len);
        Value last = g.slice(ext, len, total, g.longs(2));
        Value s = g.range(g.scalarLong(0), g.squeeze(cap, 0), g.scalarLong(1));
        Value idx = g.op("Mod", g.sub(g.sub(s, pos), len), cap);
        return g.op("Gather", List.of(Attribute.i("axis", 2)), last, idx);
    }

    /**
     * Band attention of {@code q [B,H,L,dk]} over every ext key {@code [B,H,C+L,*]}.
     *
     * @param lookback previous tokens a query sees, or {@link SlidingWindowSpec#UNBOUNDED}
     */
    public static Band bandFull(GraphBuilder g, Value q, Value extK, Value extV, Value pos, Value cap, int lookback,
            Value scale) {
        Value len = g.shape(q, 2, 3);
        Value total = g.add(cap, len);
        Value j = g.range(g.scalarLong(0), g.squeeze(total, 0), g.scalarLong(1));
        Value n = g.unsqueeze(g.range(g.scalarLong(0), g.squeeze(len, 0), g.scalarLong(1)), 1);
        // rel = (position of key j) - (position of query n); the band is -lookback <= rel <= 0
        Value rel = g.sub(g.sub(j, cap), n);
        Value mask = g.and(g.lessOrEqual(rel, g.scalarLong(0)), g.greaterOrEqual(j, g.sub(cap, pos)));
        if (lookback != SlidingWindowSpec.UNBOUNDED) {
            mask = g.and(mask, g.greaterOrEqual(rel, g.scalarLong(-lookback)));
        }
        Value scores = g.mul(g.matMul(q, g.transposeLast(extK, 4)), scale);
        return softmaxParts(g, g.where(mask, scores, g.scalar(Double.NEGATIVE_INFINITY)), extV);
    }

    /**
     * Band attention in query blocks of {@code block}: block {@code b} (queries {@code b·block ..}) gathers the
     * ext keys {@code b·block + C - lookback ..} (width {@code block + lookback}); within it, query row
     * {@code r} sees key columns {@code r .. r + lookback}, a constant band.
     */
    public static Band bandBlocked(GraphBuilder g, Value q, Value extK, Value extV, Value pos, Value cap,
            int lookback, Value scale, int block) {
        if (lookback == SlidingWindowSpec.UNBOUNDED) {
            throw new IllegalArgumentException("lookback: the blocked band needs a bounded window, got unbounded");
        }
        int width = Math.addExact(block, lookback);
        Value len = g.shape(q, 2, 3);
        Value pad = g.op("Mod", g.sub(g.longs(block), g.op("Mod", len, g.longs(block))), g.longs(block));
        Value pads = g.concat(0, g.longs(0, 0, 0, 0, 0, 0), pad, g.longs(0));
        Value qb = LinearAttentionKernels.blocks(g, g.op("Pad", q, pads), block); // [B,H,nb,c,dk]
        Value kp = g.op("Pad", extK, pads);
        Value vp = g.op("Pad", extV, pads);
        Value nb = g.div(g.add(len, pad), g.longs(block));
        Value starts = g.mul(g.range(g.scalarLong(0), g.squeeze(nb, 0), g.scalarLong(1)), g.scalarLong(block));
        Value idx = g.add(g.unsqueeze(g.add(starts, g.squeeze(g.sub(cap, g.longs(lookback)), 0)), 1),
                g.range(g.scalarLong(0), g.scalarLong(width), g.scalarLong(1))); // [nb, width]
        List<Attribute> axis2 = List.of(Attribute.i("axis", 2));
        Value kb = g.op("Gather", axis2, kp, idx); // [B,H,nb,width,dk]
        Value vb = g.op("Gather", axis2, vp, idx);
        // the band in the block, computed rather than stored: a stored [block, width] mask would grow with the lookback
        Value row = g.unsqueeze(g.range(g.scalarLong(0), g.scalarLong(block), g.scalarLong(1)), 1); // [block,1]
        Value col = g.range(g.scalarLong(0), g.scalarLong(width), g.scalarLong(1)); // [width]
        Value inBand = g.and(g.greaterOrEqual(col, row), g.lessOrEqual(col, g.add(row, g.scalarLong(lookback))));
        Value valid = g.unsqueeze(g.greaterOrEqual(idx, g.sub(cap, pos)), 1); // [nb,1,width]
        Value scores = g.mul(g.matMul(qb, g.transposeLast(kb, 5)), scale);
        Band b = softmaxParts(g, g.where(g.and(inBand, valid), scores, g.scalar(Double.NEGATIVE_INFINITY)), vb);
        return new Band(LinearAttentionKernels.unblocks(g, b.num(), len), LinearAttentionKernels.unblocks(g, b.den(), len),
                LinearAttentionKernels.unblocks(g, b.max(), len));
    }

    private static Band softmaxParts(GraphBuilder g, Value masked, Value values) {
        Value max = g.reduceMax(masked, true, -1);
        Value e = g.op("Exp", g.sub(masked, max));
        return new Band(g.matMul(e, values), g.reduceSum(e, true, -1), max);
    }
}
