package dev.based4j.onnx.kernels;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.onnx.graph.Attribute;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.spi.LinearAttentionFamily;
import java.util.List;

/**
 * Causal linear attention as ONNX graphs ({@code based-math.md} b), all on {@code [batch, heads, seq, dim]} with
 * dynamic batch, heads, sequence and value dimension:
 *
 * <ul>
 *   <li>{@link Form#QUADRATIC}: the masked {@code L×L} form (MatMul, Trilu, ReduceSum) plus the carried state;
 *   <li>{@link Form#CHUNKED}: chunks of {@code chunkSize} tokens; inside a chunk the masked form, across chunks
 *       the chunk states {@code vᵀφ(k)} summed with an exclusive CumSum (FLA's {@code naive_chunk_based});
 *   <li>{@link Form#DECODE}: one token, update first, then read out.
 * </ul>
 *
 * Every form continues from the state {@code kv [B,H,dv,D]}, {@code z [B,H,D]} and returns the updated state,
 * so that prefill of {@code n} then decode of {@code m} equals prefill of {@code n+m}.
 *
 * <p>As a kernel family, {@link PrefillAlgorithm#AUTO} prefill takes the quadratic form up to
 * {@value #QUADRATIC_MAX_SEQ} tokens and the chunked form above, whose memory grows linearly;
 * {@link PrefillAlgorithm#RECURRENT} is treated as {@code AUTO}, as the API allows.
 */
public final class LinearAttentionKernels implements LinearAttentionFamily<OnnxBuffer> {
    /** Longest sequence for which {@code AUTO} prefill uses the quadratic form. */
    public static final int QUADRATIC_MAX_SEQ = 256;

    private final SessionCache sessions;

    /** @param sessions the backend's compiled graphs */
    public LinearAttentionKernels(SessionCache sessions) {
        this.sessions = sessions;
    }

    /**
     * Prefill in the form the spec asks for; when its intermediates would exceed the {@link ScratchBudget} and the
     * other form's fit, in the other form (the same function, so the algorithm stays a hint).
     */
    @Override
    public void prefill(LinearAttentionFamily.Call<OnnxBuffer> c) {
        Form wanted = switch (c.spec().algorithm()) {
            case QUADRATIC -> Form.QUADRATIC;
            case CHUNKED -> Form.CHUNKED;
            case AUTO, RECURRENT -> c.seq() <= QUADRATIC_MAX_SEQ ? Form.QUADRATIC : Form.CHUNKED;
        };
        Form other = wanted == Form.QUADRATIC ? Form.CHUNKED : Form.QUADRATIC;
        Form form = !ScratchBudget.fits(c.dtype(), needs(c, wanted)) && ScratchBudget.fits(c.dtype(), needs(c, other))
                ? other : wanted;
        ScratchBudget.check("linear-attention prefill (" + form.name().toLowerCase(java.util.Locale.ROOT) + " form)",
                c.dtype(), needs(c, form));
        run(c, form);
    }

    @Override
    public void decode(LinearAttentionFamily.Call<OnnxBuffer> c) {
        run(c, Form.DECODE);
    }

    /** The largest intermediates of {@code form}: the features of the keys, and the scores or chunk states. */
    private static ScratchBudget.Need[] needs(LinearAttentionFamily.Call<OnnxBuffer> c, Form form) {
        long b = c.batch();
        long h = c.heads();
        long s = c.seq();
        long d = c.expandedDim();
        if (form == Form.CHUNKED) {
            long chunk = c.spec().chunkSize();
            long padded = ScratchBudget.roundUp(s, chunk);
            return new ScratchBudget.Need[] {new ScratchBudget.Need("features", b, h, padded, d),
                    new ScratchBudget.Need("chunk scores", b, h, padded / chunk, chunk, chunk),
                    new ScratchBudget.Need("chunk states", b, h, padded / chunk, c.valueDim(), d)};
        }
        return new ScratchBudget.Need[] {new ScratchBudget.Need("features", b, h, s, d),
                new ScratchBudget.Need("scores", b, h, s, s)};
    }

    private void run(LinearAttentionFamily.Call<OnnxBuffer> c, Form form) {
        // the chunk size only matters to the chunked graph; the algorithm never changes a graph
        LinearAttentionSpec keySpec = c.spec().withAlgorithm(PrefillAlgorithm.AUTO)
                .withChunkSize(form == Form.CHUNKED ? c.spec().chunkSize() : LinearAttentionSpec.DEFAULT_CHUNK);
        long b = c.batch();
        long h = c.heads();
        long s = c.seq();
        long f = c.keyDim();
        long dv = c.valueDim();
        long d = c.expandedDim();
        KernelRun.run(sessions, new SessionCache.Key("linear_attention_" + form, keySpec, c.dtype()),
                () -> standalone(keySpec, form, ElementType.of(c.dtype())),
                r -> r.in("q", c.q(), b, h, s, f).in("k", c.k(), b, h, s, f).in("v", c.v(), b, h, s, dv)
                        .in("kv", c.kv(), b, h, dv, d).in("z", c.z(), b, h, d)
                        .out("y", c.out(), b, h, s, dv)
                        .state("kv_out", c.kv(), b, h, dv, d).state("z_out", c.z(), b, h, d));
    }

    /** How the graph evaluates the sequence. */
    public enum Form {
        /** Masked {@code L×L} form. */
        QUADRATIC,
        /** Chunked form with prefix sums of chunk states. */
        CHUNKED,
        /** One token. */
        DECODE
    }

    /** The attention output and the updated state. */
    public record Outputs(Value y, Value kv, Value z) {}

    /**
     * Un-normalised parts: {@code num [B,H,L,dv]} and {@code den [B,H,L,1]} (without eps), and the updated state.
     */
    public record Parts(Value num, Value den, Value kv, Value z) {}

    /**
     * A standalone graph with inputs {@code q, k [B,H,L,f]}, {@code v [B,H,L,dv]}, {@code kv [B,H,dv,D]},
     * {@code z [B,H,D]} and outputs {@code y [B,H,L,dv]}, {@code kv_out}, {@code z_out}.
     */
    public static GraphBuilder standalone(LinearAttentionSpec spec, Form form, ElementType type) {
        FeatureMap map = spec.featureMap();
        int f = map.inputDim();
        int d = map.outputDim();
        String name = "linear_attention_" + form.name().toLowerCase(java.util.Locale.ROOT) + "["
                + FeatureMapKernels.describe(map) + (form == Form.CHUNKED ? ", chunk " + spec.chunkSize() : "") + ", "
                + FeatureMapKernels.label(type) + "]";
        GraphBuilder g = new GraphBuilder(name, type);
        Object seq = form == Form.DECODE ? (Object) 1 : "seq";
        Value q = g.input("q", "batch", "heads", seq, f);
        Value k = g.input("k", "batch", "heads", seq, f);
        Value v = g.input("v", "batch", "heads", seq, "dv");
        Value kv = g.input("kv", "batch", "heads", "dv", d);
        Value z = g.input("z", "batch", "heads", d);
        Outputs o = apply(g, spec, form, q, k, v, kv, z);
        g.output(o.y(), "y", "batch", "heads", seq, "dv");
        g.output(o.kv(), "kv_out", "batch", "heads", "dv", d);
        g.output(o.z(), "z_out", "batch", "heads", d);
        return g;
    }

    /** Linear attention over {@code q, k, v} continuing from {@code kv, z}, in the given form. */
    public static Outputs apply(GraphBuilder g, LinearAttentionSpec spec, Form form, Value q, Value k, Value v,
            Value kv, Value z) {
        return g.scoped("linear_attention", () -> {
            FeatureMap map = spec.featureMap();
            if (form == Form.DECODE) {
                return decode(g, map, spec.eps(), q, k, v, kv, z);
            }
            Value phiQ = FeatureMapKernels.phi(g, map, q);
            Value phiK = FeatureMapKernels.phi(g, map, k);
            Parts p = form == Form.QUADRATIC
                    ? quadraticParts(g, map, q, k, phiQ, phiK, v, kv, z, null)
                    : chunkedParts(g, map, q, k, phiQ, phiK, v, kv, z, null, spec.chunkSize());
            Value y = g.div(p.num(), g.add(p.den(), g.scalar(spec.eps())));
            return new Outputs(y, p.kv(), p.z());
        });
    }

    private static Outputs decode(GraphBuilder g, FeatureMap map, double eps, Value q, Value k, Value v, Value kv,
            Value z) {
        // kv += v ⊗ φ(k), z += φ(k) first, so the token attends to itself; then read out with φ(q)
        Value phiQ = FeatureMapKernels.phi(g, map, q);
        Value phiK = FeatureMapKernels.phi(g, map, k);
        Value kvNew = g.add(kv, g.matMul(g.transposeLast(v, 4), phiK));
        Value zNew = g.add(z, g.squeeze(phiK, 2));
        Value num = g.matMul(phiQ, g.transposeLast(kvNew, 4));
        Value den = g.add(g.matMul(phiQ, g.unsqueeze(zNew, -1)), g.scalar(eps));
        return new Outputs(g.div(num, den), kvNew, zNew);
    }

    /**
     * The masked form: {@code A = tril(φ(q)φ(k)ᵀ)}, {@code num = A v + φ(q) kvᵀ},
     * {@code den = rowsum(A) + φ(q)·z}; states {@code kv + vᵀφ(k)}, {@code z + Σφ(k)}.
     *
     * @param keyMask null, or a {@code [L]} vector of the compute type, 1 for keys that count and 0 for keys that
     *     must be ignored (the fused layer's not-yet-written ring slots)
     */
    public static Parts quadraticParts(GraphBuilder g, FeatureMap map, Value q, Value k, Value phiQ, Value phiK,
            Value v, Value kv, Value z, Value keyMask) {
        Value a = g.op("Trilu", List.of(Attribute.i("upper", 0)),
                FeatureMapKernels.kernelMatrix(g, map, q, k, phiQ, phiK, 4));
        Value pk = phiK;
        if (keyMask != null) {
            a = g.mul(a, g.unsqueeze(keyMask, 0));
            pk = g.mul(phiK, g.unsqueeze(keyMask, 1));
        }
        Value num = g.add(g.matMul(a, v), g.matMul(phiQ, g.transposeLast(kv, 4)));
        Value den = g.add(g.reduceSum(a, true, -1), g.matMul(phiQ, g.unsqueeze(z, -1)));
        Value kvNew = g.add(kv, g.matMul(g.transposeLast(v, 4), pk));
        Value zNew = g.add(z, g.reduceSum(pk, false, 2));
        return new Parts(num, den, kvNew, zNew);
    }

    /**
     * The chunked form. The sequence is padded with zero features to a multiple of {@code chunk}: a padded key
     * has φ = 0 and v = 0, so it adds nothing to any state, and (being after every real token) no real query
     * sees it through the causal mask.
     */
    public static Parts chunkedParts(GraphBuilder g, FeatureMap map, Value q, Value k, Value phiQ, Value phiK,
            Value v, Value kv, Value z, Value keyMask, int chunk) {
        Value len = g.shape(q, 2, 3);
        Value pad = g.op("Mod", g.sub(g.longs(chunk), g.op("Mod", len, g.longs(chunk))), g.longs(chunk));
        Value pads = g.concat(0, g.longs(0, 0, 0, 0, 0, 0), pad, g.longs(0));
        Value pk = phiK;
        if (keyMask != null) {
            pk = g.mul(phiK, g.unsqueeze(keyMask, 1));
        }
        Value qc = blocks(g, g.op("Pad", q, pads), chunk);
        Value kc = blocks(g, g.op("Pad", k, pads), chunk);
        Value vc = blocks(g, g.op("Pad", v, pads), chunk);
        Value pqc = blocks(g, g.op("Pad", phiQ, pads), chunk);
        Value pkc = blocks(g, g.op("Pad", pk, pads), chunk);
        // within a chunk: the masked form [B,H,nc,c,c]
        Value a = g.op("Trilu", List.of(Attribute.i("upper", 0)),
                FeatureMapKernels.kernelMatrix(g, map, qc, kc, pqc, pkc, 5));
        if (keyMask != null) {
            Value maskPadded = g.op("Pad", keyMask, g.concat(0, g.longs(0), pad));
            a = g.mul(a, g.reshape(maskPadded, -1, 1, chunk));
        }
        Value numIntra = g.matMul(a, vc);
        Value denIntra = g.reduceSum(a, true, -1);
        // across chunks: chunk states, exclusive prefix sums, plus the carried state
        Value sChunk = g.matMul(g.transposeLast(vc, 5), pkc); // [B,H,nc,dv,D]
        Value zChunk = g.reduceSum(pkc, false, 3); // [B,H,nc,D]
        List<Attribute> exclusive = List.of(Attribute.i("exclusive", 1));
        Value sPrefix = g.add(g.op("CumSum", exclusive, sChunk, g.scalarLong(2)), g.unsqueeze(kv, 2));
        Value zPrefix = g.add(g.op("CumSum", exclusive, zChunk, g.scalarLong(2)), g.unsqueeze(z, 2));
        Value numInter = g.matMul(pqc, g.transposeLast(sPrefix, 5));
        Value denInter = g.matMul(pqc, g.unsqueeze(zPrefix, -1));
        Value num = unblocks(g, g.add(numIntra, numInter), len);
        Value den = unblocks(g, g.add(denIntra, denInter), len);
        Value kvNew = g.add(kv, g.reduceSum(sChunk, false, 2));
        Value zNew = g.add(z, g.reduceSum(zChunk, false, 2));
        return new Parts(num, den, kvNew, zNew);
    }

    /** {@code [B,H,Lp,X] → [B,H,Lp/c,c,X]}. */
    static Value blocks(GraphBuilder g, Value x, int chunk) {
        return g.reshape(x, g.concat(0, g.shape(x, 0, 2), g.longs(-1, chunk), g.shape(x, 3)));
    }

    /** {@code [B,H,nc,c,X] → [B,H,L,X]}, dropping the padding beyond {@code len}. */
    static Value unblocks(GraphBuilder g, Value x, Value len) {
        Value flat = g.reshape(x, g.concat(0, g.shape(x, 0, 2), g.longs(-1), g.shape(x, 4)));
        return g.slice(flat, g.longs(0), len, g.longs(2));
    }
}
