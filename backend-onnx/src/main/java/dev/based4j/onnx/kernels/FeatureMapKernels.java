package dev.based4j.onnx.kernels;

import dev.based4j.featuremap.AllPoly;
import dev.based4j.featuremap.CosFormer;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Identity;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Relu;
import dev.based4j.featuremap.Square;
import dev.based4j.featuremap.Taylor;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.spi.FeatureMapFamily;

/**
 * Feature maps φ as ONNX subgraphs, one per {@link FeatureMap} record, over the last axis of a tensor whose
 * second-to-last axis is the sequence ({@code [..., seq, d]}). Formulas: {@code golden/FORMAT.md}, op
 * {@code feature_map}, and {@code based-math.md} a for Taylor. As a kernel family, each map runs as its own
 * {@link #standalone} graph.
 */
public final class FeatureMapKernels implements FeatureMapFamily<OnnxBuffer> {
    private final SessionCache sessions;

    /** @param sessions the backend's compiled graphs */
    public FeatureMapKernels(SessionCache sessions) {
        this.sessions = sessions;
    }

    @Override
    public void apply(FeatureMapFamily.Call<OnnxBuffer> c) {
        FeatureMap map = c.map();
        KernelRun.run(sessions, new SessionCache.Key("feature_map", map, c.dtype()),
                () -> standalone(map, ElementType.of(c.dtype())),
                r -> r.in("x", c.x(), c.rows(), c.seq(), map.inputDim())
                        .out("phi", c.out(), c.rows(), c.seq(), map.outputDim()));
    }

    /** A standalone graph: input {@code x [rows, seq, d]} → output {@code phi [rows, seq, outputDim]}. */
    public static GraphBuilder standalone(FeatureMap map, ElementType type) {
        GraphBuilder g = new GraphBuilder("feature_map[" + describe(map) + ", " + label(type) + "]", type);
        Value x = g.input("x", "rows", "seq", map.inputDim());
        g.output(phi(g, map, x), "phi", "rows", "seq", map.outputDim());
        return g;
    }

    /**
     * φ over the last axis of {@code x [..., seq, d]} (any rank ≥ 2).
     *
     * @return {@code [..., seq, map.outputDim()]}
     */
    public static Value phi(GraphBuilder g, FeatureMap map, Value x) {
        return g.scoped("phi_" + map.kind().label(), () -> switch (map) {
            case Taylor t -> taylor(g, t, x);
            case Identity i -> g.op("Identity", x);
            case Relu r -> g.op("Max", x, g.scalar(r.eps()));
            case PosElu p -> g.where(g.greater(x, g.scalar(0)), g.add(x, g.scalar(1)), g.op("Exp", x));
            case Square s -> g.mul(x, x);
            case CosFormer c -> cosFormer(g, c, x);
            case Performer p -> performer(g, p, x);
            case AllPoly a -> allPoly(g, a, x);
        });
    }

    /**
     * The matrix {@code A[n,m] = φ(q_n)·φ(k_m)} over the last two axes ({@code q [..., Lq, d]},
     * {@code k [..., Lk, d]} → {@code [..., Lq, Lk]}). For Taylor it uses the exact identity
     * {@code φ(q)·φ(k) = 1 + s + s²/2}, {@code s = q·k/√f} ({@code based-math.md} a), which costs {@code f}
     * instead of {@code 1+f+f²} multiplications per pair; other maps multiply the features.
     *
     * @param phiQ φ(q) when already computed (used for maps without the identity), else null
     * @param phiK φ(k) likewise
     */
    public static Value kernelMatrix(GraphBuilder g, FeatureMap map, Value q, Value k, Value phiQ, Value phiK, int rank) {
        if (map instanceof Taylor t) {
            Value s = g.mul(g.matMul(q, g.transposeLast(k, rank)), g.scalar(1.0 / Math.sqrt(t.inputDim())));
            // 1 + s·(1 + s/2): one fewer multiplication than 1 + s + s·s/2, same value up to rounding
            return g.add(g.scalar(1), g.mul(s, g.add(g.scalar(1), g.mul(s, g.scalar(0.5)))));
        }
        Value pq = phiQ != null ? phiQ : phi(g, map, q);
        Value pk = phiK != null ? phiK : phi(g, map, k);
        return g.matMul(pq, g.transposeLast(pk, rank));
    }

    private static Value taylor(GraphBuilder g, Taylor t, Value x) {
        int f = t.inputDim();
        // [1, x/f^¼, (x ⊗ x)/(√2·√f)] with the full row-major outer product (based-math.md a)
        Value lead = g.shape(x, 0, -1);
        Value ones = g.op("Expand", g.constant("one", new double[] {1}, 1),
                g.concat(0, lead, g.longs(1)));
        Value linear = g.mul(x, g.scalar(1.0 / Math.sqrt(Math.sqrt(f))));
        Value scaled = g.mul(x, g.scalar(1.0 / (Math.sqrt(2.0) * Math.sqrt(f))));
        Value outer = g.mul(g.unsqueeze(scaled, -1), g.unsqueeze(x, -2));
        Value flat = g.reshape(outer, g.concat(0, lead, g.longs((long) f * f)));
        return g.concat(-1, ones, linear, flat);
    }

    private static Value cosFormer(GraphBuilder g, CosFormer c, Value x) {
        // θ_t = π(t+1)/(2L) over the call's L tokens (the sequence axis is the second-to-last)
        Value len = g.shape(x, -2, -1);
        Value lenT = g.cast(g.squeeze(len, 0), g.computeType());
        Value t = g.range(g.scalar(1), g.add(lenT, g.scalar(1)), g.scalar(1));
        Value theta = g.unsqueeze(g.div(g.mul(t, g.scalar(Math.PI)), g.mul(lenT, g.scalar(2))), -1);
        Value a = g.op("Relu", x);
        return g.concat(-1, g.mul(a, g.op("Sin", theta)), g.mul(a, g.op("Cos", theta)));
    }

    private static Value performer(GraphBuilder g, Performer p, Value x) {
        int d = p.inputDim();
        int m = p.features();
        double[] w = p.projection();
        double[] wt = new double[d * m];
        for (int r = 0; r < m; r++) {
            for (int i = 0; i < d; i++) {
                wt[i * m + r] = w[r * d + i];
            }
        }
        Value projT = g.cached(java.util.List.of("performer", p), () -> g.constant("performer_wt", wt, d, m));
        Value xs = g.mul(x, g.scalar(1.0 / Math.sqrt(Math.sqrt(d))));
        Value half = g.mul(g.reduceSum(g.mul(xs, xs), true, -1), g.scalar(0.5));
        return g.mul(g.op("Exp", g.sub(g.matMul(xs, projT), half)), g.scalar(1.0 / Math.sqrt(m)));
    }

    private static Value allPoly(GraphBuilder g, AllPoly a, Value x) {
        int d = a.inputDim();
        Value p1t = g.cached(java.util.List.of("allpoly1", a), () -> g.constant("allpoly_p1t", transpose(a.p1(), d), d, d));
        Value p2t = g.cached(java.util.List.of("allpoly2", a), () -> g.constant("allpoly_p2t", transpose(a.p2(), d), d, d));
        Value lin = g.matMul(x, p1t);
        Value sq = g.matMul(g.mul(x, x), p2t);
        return g.mul(g.add(g.mul(lin, lin), sq), g.scalar(1.0 / Math.sqrt(2.0)));
    }

    private static double[] transpose(double[] m, int d) {
        double[] t = new double[d * d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                t[j * d + i] = m[i * d + j];
            }
        }
        return t;
    }

    /** @return a short description of a map for graph names */
    public static String describe(FeatureMap map) {
        return map.kind().label() + " " + map.inputDim() + "->" + map.outputDim();
    }

    static String label(ElementType type) {
        return type == ElementType.DOUBLE ? "f64" : "f32";
    }
}
