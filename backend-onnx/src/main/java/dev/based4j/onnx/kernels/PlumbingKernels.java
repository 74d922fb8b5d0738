package dev.based4j.onnx.kernels;

import dev.based4j.onnx.graph.Attribute;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.tensor.DType;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Model plumbing as ONNX graphs and subgraphs: linear layers, RMSNorm, SiLU, exact GELU, element-wise ops,
 * embedding gather, rotary embedding, head split/merge and column slices. Shapes are dynamic; the backend passes
 * tensors with their leading dimensions flattened where a kernel works on rows, and element-wise kernels see flat
 * vectors.
 *
 * <p>{@code linear} and {@code embedding} also take weights stored as bf16, f16 or int8 ({@link #WEIGHT_TYPES}): the
 * graph reads them in their storage type and turns them into the compute type in front of {@code Gemm} or after
 * {@code Gather} ({@link #dequantize}), so products and sums run in the compute type.
 */
public final class PlumbingKernels implements PlumbingFamily<OnnxBuffer> {
    /** The weight storage types {@code linear} and {@code embedding} take besides the compute types. */
    public static final Set<DType> WEIGHT_TYPES =
            Collections.unmodifiableSet(EnumSet.of(DType.BF16, DType.F16, DType.I8));

    private final SessionCache sessions;

    /** @param sessions the backend's compiled graphs */
    public PlumbingKernels(SessionCache sessions) {
        this.sessions = sessions;
    }

    @Override
    public void linear(LinearCall<OnnxBuffer> c) {
        boolean withBias = c.bias() != null;
        DType weightType = c.weightType();
        int group = c.groupSize();
        KernelRun.run(sessions, key("linear", List.of(withBias, weightType, group), c.dtype()),
                () -> linear(withBias, type(c.dtype()), weightType, group), r -> {
                    r.in("x", c.x(), c.rows(), c.inFeatures()).in("weight", c.weight(), c.outFeatures(),
                            c.inFeatures());
                    if (weightType == DType.I8) {
                        r.in("scales", c.scales(), scaleDims(c.outFeatures(), c.inFeatures(), group));
                    }
                    if (withBias) {
                        r.in("bias", c.bias(), c.outFeatures());
                    }
                    r.out("y", c.out(), c.rows(), c.outFeatures());
                });
    }

    /** The dimensions of int8 scales: {@code [rows]} per row, {@code [rows, columns / group]} per group. */
    private static long[] scaleDims(int rows, int columns, int group) {
        return group == 0 ? new long[] {rows} : new long[] {rows, columns / group};
    }

    @Override
    public void rmsNorm(NormCall<OnnxBuffer> c) {
        KernelRun.run(sessions, key("rms_norm", null, c.dtype()), () -> rmsNorm(type(c.dtype())),
                r -> r.in("x", c.x(), c.rows(), c.dim()).in("weight", c.weight(), c.dim())
                        .scalar("eps", c.eps(), c.dtype()).out("y", c.out(), c.rows(), c.dim()));
    }

    @Override
    public void silu(UnaryCall<OnnxBuffer> c) {
        unary("silu", c);
    }

    @Override
    public void gelu(UnaryCall<OnnxBuffer> c) {
        unary("gelu", c);
    }

    private void unary(String op, UnaryCall<OnnxBuffer> c) {
        KernelRun.run(sessions, key(op, null, c.dtype()), () -> unary(op, type(c.dtype())),
                r -> r.in("x", c.x(), c.elements()).out("y", c.out(), c.elements()));
    }

    @Override
    public void add(BinaryCall<OnnxBuffer> c) {
        binary("Add", c);
    }

    @Override
    public void multiply(BinaryCall<OnnxBuffer> c) {
        binary("Mul", c);
    }

    private void binary(String op, BinaryCall<OnnxBuffer> c) {
        KernelRun.run(sessions, key(op, null, c.dtype()), () -> binary(op, type(c.dtype())),
                r -> r.in("a", c.a(), c.elements()).in("b", c.b(), c.elements()).out("y", c.out(), c.elements()));
    }

    @Override
    public void embedding(EmbeddingCall<OnnxBuffer> c) {
        int[] ids = c.ids();
        long[] longIds = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            // read once and checked again: the caller's array could change after it was validated, and Gather
            // must only ever see rows of the table
            int id = ids[i];
            if (id < 0 || id >= c.vocab()) {
                throw new IllegalArgumentException("ids: expected ids in [0, " + c.vocab() + "), got " + id
                        + " at index " + i + " (the array changed during the call)");
            }
            longIds[i] = id;
        }
        DType tableType = c.tableType();
        int group = c.groupSize();
        KernelRun.run(sessions, key("embedding", List.of(tableType, group), c.dtype()),
                () -> embedding(type(c.dtype()), tableType, group), r -> {
                    r.in("table", c.table(), c.vocab(), c.dim());
                    if (tableType == DType.I8) {
                        r.in("scales", c.scales(), scaleDims(c.vocab(), c.dim(), group));
                    }
                    r.longs("ids", longIds).out("y", c.out(), ids.length, c.dim());
                });
    }

    @Override
    public void rotary(RotaryCall<OnnxBuffer> c) {
        int dim = c.dim();
        int rotaryDim = c.rotaryDim();
        double base = c.base();
        KernelRun.run(sessions, key("rotary", List.of(dim, rotaryDim, base), c.dtype()),
                () -> rotary(dim, rotaryDim, base, type(c.dtype())),
                r -> r.in("x", c.x(), c.rows(), c.seq(), dim).longs("start", c.startPosition())
                        .out("y", c.out(), c.rows(), c.seq(), dim));
    }

    @Override
    public void splitHeads(HeadsCall<OnnxBuffer> c) {
        long width = (long) c.heads() * c.headDim();
        KernelRun.run(sessions, key("split_heads", null, c.dtype()), () -> splitHeads(type(c.dtype())),
                r -> r.in("x", c.x(), c.batch(), c.seq(), width)
                        .longs("shape", c.batch(), c.seq(), c.heads(), c.headDim())
                        .out("y", c.out(), c.batch(), c.heads(), c.seq(), c.headDim()));
    }

    @Override
    public void mergeHeads(HeadsCall<OnnxBuffer> c) {
        long width = (long) c.heads() * c.headDim();
        KernelRun.run(sessions, key("merge_heads", null, c.dtype()), () -> mergeHeads(type(c.dtype())),
                r -> r.in("x", c.x(), c.batch(), c.heads(), c.seq(), c.headDim())
                        .out("y", c.out(), c.batch(), c.seq(), width));
    }

    @Override
    public void slice(SliceCall<OnnxBuffer> c) {
        KernelRun.run(sessions, key("slice", null, c.dtype()), () -> slice(type(c.dtype())),
                r -> r.in("x", c.x(), c.rows(), c.columns()).longs("from", c.from()).longs("to", c.from() + c.width())
                        .out("y", c.out(), c.rows(), c.width()));
    }

    private static SessionCache.Key key(String op, Object spec, DType dtype) {
        return new SessionCache.Key(op, spec, dtype);
    }

    private static ElementType type(DType dtype) {
        return ElementType.of(dtype);
    }

    /** Terms of the Maclaurin series of erf: enough for |x| &lt; 3 to reach 1e-17 relative (9^50/50! ≈ 1e-17). */
    private static final int ERF_SERIES_TERMS = 60;
    /** Depth of the continued fraction of erfc for |x| ≥ 3, as in {@code Reference.erf}. */
    private static final int ERF_FRACTION_DEPTH = 60;

    /** {@code y = x·Wᵀ (+ b)}: {@code x [R, in]}, {@code weight [out, in]}, {@code bias [out]} when {@code withBias}. */
    public static GraphBuilder linear(boolean withBias, ElementType type) {
        return linear(withBias, type, type == ElementType.DOUBLE ? DType.F64 : DType.F32, 0);
    }

    /**
     * {@code y = x·Wᵀ (+ b)} with {@code weight [out, in]} stored as {@code weightType} (a compute type, bf16, f16, or
     * int8 with input {@code scales [out]} when {@code groupSize} is 0, else {@code [out, in / groupSize]}), turned
     * into {@code type} by {@link #dequantize} in front of the {@code Gemm}.
     */
    public static GraphBuilder linear(boolean withBias, ElementType type, DType weightType, int groupSize) {
        ElementType stored = ElementType.stored(weightType);
        GraphBuilder g = new GraphBuilder("linear[" + (withBias ? "bias, " : "") + FeatureMapKernels.label(type)
                + (stored == type ? "" : ", " + storageLabel(weightType, groupSize) + " weights") + "]", type);
        Value x = g.input("x", "rows", "in");
        Value w = g.input("weight", stored, "out", "in");
        Value scales = weightType != DType.I8 ? null
                : groupSize == 0 ? g.input("scales", "out") : g.input("scales", "out", "groups");
        Value b = withBias ? g.input("bias", "out") : null;
        Value wc = dequantize(g, w, scales, groupSize);
        Value y = withBias
                ? g.op("Gemm", List.of(Attribute.i("transB", 1)), x, wc, b)
                : g.op("Gemm", List.of(Attribute.i("transB", 1)), x, wc);
        g.output(y, "y", "rows", "out");
        return g;
    }

    private static String storageLabel(DType weightType, int groupSize) {
        return weightType != DType.I8 ? weightType.label() : groupSize == 0 ? "int8" : "int8-g" + groupSize;
    }

    /**
     * The values of a weight {@code [rows, columns]} in the graph's compute type: the weight itself when it is stored
     * so; {@code Cast} for bf16 and f16 (exact: every bf16 and f16 value is a float32 and a float64);
     * {@code values · scales} for int8, with {@code scales [rows]} (one per row: {@code groupSize} 0) or
     * {@code [rows, columns / groupSize]}. Int8 into float32 is {@code DequantizeLinear} with per-axis scales over
     * rows, the weights viewed as {@code [rows · groups, groupSize]} for groups (opset 17 has no block quantization,
     * and per-axis over the finer rows is the same function); into float64, which {@code DequantizeLinear} does not
     * produce, {@code Cast} then {@code Mul}.
     *
     * @param values {@code [rows, columns]} of FLOAT, DOUBLE, BFLOAT16, FLOAT16 or INT8
     * @param scales the int8 scales in the compute type, else null
     */
    public static Value dequantize(GraphBuilder g, Value values, Value scales, int groupSize) {
        ElementType type = g.computeType();
        return switch (values.type()) {
            case FLOAT, DOUBLE -> values.type() == type ? values : g.cast(values, type);
            case BFLOAT16, FLOAT16 -> g.cast(values, type);
            case INT8 -> g.scoped("dequantize", () -> {
                if (type == ElementType.FLOAT) {
                    if (groupSize == 0) {
                        return g.opTyped("DequantizeLinear", type, List.of(Attribute.i("axis", 0)), values, scales);
                    }
                    Value runs = g.reshape(values, -1, groupSize);
                    Value scaled = g.opTyped("DequantizeLinear", type, List.of(Attribute.i("axis", 0)), runs,
                            g.reshape(scales, -1));
                    return g.reshape(scaled, g.shape(values, 0));
                }
                Value wide = g.cast(values, type);
                if (groupSize == 0) {
                    return g.mul(wide, g.unsqueeze(scales, 1));
                }
                Value runs = g.reshape(wide, 0, -1, groupSize);
                return g.reshape(g.mul(runs, g.unsqueeze(scales, 2)), 0, -1);
            });
            default -> throw new IllegalArgumentException("values: expected a float or int8 weight, got "
                    + values.type());
        };
    }

    /** RMSNorm: inputs {@code x [R, d]}, {@code weight [d]}, {@code eps [1]}. */
    public static GraphBuilder rmsNorm(ElementType type) {
        GraphBuilder g = new GraphBuilder("rms_norm[" + FeatureMapKernels.label(type) + "]", type);
        Value x = g.input("x", "rows", "d");
        Value w = g.input("weight", "d");
        Value eps = g.input("eps", 1);
        g.output(rmsNorm(g, x, w, eps), "y", "rows", "d");
        return g;
    }

    /** {@code x / sqrt(mean(x²) + eps) · w} over the last axis. */
    public static Value rmsNorm(GraphBuilder g, Value x, Value weight, Value eps) {
        return g.scoped("rms_norm", () -> {
            Value inv = g.op("Reciprocal", g.op("Sqrt", g.add(g.reduceMean(g.mul(x, x), true, -1), eps)));
            return g.mul(g.mul(x, inv), weight);
        });
    }

    /** An element-wise graph over a flat {@code [n]} input ({@code silu}, {@code gelu}). */
    public static GraphBuilder unary(String op, ElementType type) {
        GraphBuilder g = new GraphBuilder(op + "[" + FeatureMapKernels.label(type) + "]", type);
        Value x = g.input("x", "n");
        Value y = switch (op) {
            case "silu" -> silu(g, x);
            case "gelu" -> gelu(g, x);
            default -> throw new IllegalArgumentException("op: expected silu or gelu, got " + op);
        };
        g.output(y, "y", "n");
        return g;
    }

    /** A binary element-wise graph over flat {@code [n]} inputs {@code a, b} ({@code Add}, {@code Mul}). */
    public static GraphBuilder binary(String onnxOp, ElementType type) {
        GraphBuilder g = new GraphBuilder(onnxOp.toLowerCase(java.util.Locale.ROOT) + "[" + FeatureMapKernels.label(type) + "]", type);
        Value a = g.input("a", "n");
        Value b = g.input("b", "n");
        g.output(g.op(onnxOp, a, b), "y", "n");
        return g;
    }

    /**
     * {@code x·sigmoid(x)}. Float64 graphs write it {@code x / (1 + e^{-x})}: ONNX Runtime's optimiser fuses
     * {@code x·Sigmoid(x)} into its QuickGelu contrib op, which has no float64 kernel, so an exported float64
     * model would not load with default session options.
     */
    public static Value silu(GraphBuilder g, Value x) {
        if (g.computeType() == ElementType.DOUBLE) {
            return g.div(x, g.add(g.scalar(1), g.op("Exp", g.op("Neg", x))));
        }
        return g.mul(x, g.op("Sigmoid", x));
    }

    /**
     * Exact GELU {@code x/2·(1 + erf(x/√2))}. ONNX Runtime's CPU Erf has no float64 kernel, so in a float64
     * graph erf is evaluated by the same method as {@code Reference.erf}: its Maclaurin series for
     * {@code |x| < 3} and the continued fraction of erfc beyond, both unrolled.
     */
    public static Value gelu(GraphBuilder g, Value x) {
        return g.scoped("gelu", () -> {
            Value u = g.mul(x, g.scalar(1.0 / Math.sqrt(2)));
            Value erf = g.computeType() == ElementType.DOUBLE ? erf64(g, u) : g.op("Erf", u);
            return g.mul(g.mul(x, g.scalar(0.5)), g.add(g.scalar(1), erf));
        });
    }

    private static Value erf64(GraphBuilder g, Value x) {
        Value ax = g.op("Abs", x);
        // series on min(|x|, 3) and fraction on max(|x|, 3): each branch stays finite where it is not used
        Value as = g.op("Min", ax, g.scalar(3));
        Value x2 = g.mul(as, as);
        Value negX2 = g.op("Neg", x2);
        Value term = as;
        Value sum = as;
        for (int n = 1; n <= ERF_SERIES_TERMS; n++) {
            term = g.mul(term, g.div(negX2, g.scalar(n)));
            sum = g.add(sum, g.div(term, g.scalar(2 * n + 1)));
        }
        Value series = g.mul(g.scalar(2.0 / Math.sqrt(Math.PI)), sum);
        Value af = g.op("Max", ax, g.scalar(3));
        Value cf = g.scalar(0);
        for (int n = ERF_FRACTION_DEPTH; n >= 1; n--) {
            cf = g.div(g.scalar(n / 2.0), g.add(af, cf));
        }
        Value tail = g.div(g.div(g.op("Exp", g.op("Neg", g.mul(af, af))), g.scalar(Math.sqrt(Math.PI))), g.add(af, cf));
        Value fraction = g.sub(g.scalar(1), tail);
        Value r = g.where(g.less(ax, g.scalar(3)), series, fraction);
        return g.where(g.less(x, g.scalar(0)), g.op("Neg", r), r);
    }

    /** Embedding: inputs {@code table [V, d]}, {@code ids [n]} (INT64) → {@code [n, d]}. */
    public static GraphBuilder embedding(ElementType type) {
        return embedding(type, type == ElementType.DOUBLE ? DType.F64 : DType.F32, 0);
    }

    /**
     * Embedding from a table stored as {@code tableType} (int8 with input {@code scales [V]} or
     * {@code [V, d / groupSize]}): the rows are gathered in their storage type and only they are turned into
     * {@code type} ({@link #dequantize}), never the whole table.
     */
    public static GraphBuilder embedding(ElementType type, DType tableType, int groupSize) {
        ElementType stored = ElementType.stored(tableType);
        GraphBuilder g = new GraphBuilder("embedding[" + FeatureMapKernels.label(type)
                + (stored == type ? "" : ", " + storageLabel(tableType, groupSize) + " table") + "]", type);
        Value table = g.input("table", stored, "vocab", "d");
        Value scales = tableType != DType.I8 ? null
                : groupSize == 0 ? g.input("scales", "vocab") : g.input("scales", "vocab", "groups");
        Value ids = g.input("ids", ElementType.INT64, "n");
        g.output(gather(g, table, scales, groupSize, ids), "y", "n", "d");
        return g;
    }

    /**
     * Rows {@code ids} (INT64, any shape) of {@code table [V, d]} in the compute type: gathered as stored, with their
     * scales for int8, then {@link #dequantize dequantized}.
     */
    public static Value gather(GraphBuilder g, Value table, Value scales, int groupSize, Value ids) {
        Value rows = g.op("Gather", table, ids);
        if (scales == null) {
            return dequantize(g, rows, null, 0);
        }
        // the helper works on [rows, columns]: flatten the id dimensions, then restore them
        Value idShape = g.shape(ids, 0);
        Value flatRows = g.reshape(rows, g.concat(0, g.longs(-1), g.shape(table, 1, 2)));
        Value flatScales = groupSize == 0 ? g.reshape(g.op("Gather", scales, ids), -1)
                : g.reshape(g.op("Gather", scales, ids), g.concat(0, g.longs(-1), g.shape(scales, 1, 2)));
        Value values = dequantize(g, flatRows, flatScales, groupSize);
        return g.reshape(values, g.concat(0, idShape, g.shape(table, 1, 2)));
    }

    /**
     * Rotary embedding on {@code x [R, S, d]} with start position {@code start [1]} (INT64). Angles and their
     * cosines are computed in float64 whatever the compute type: at position 2048 a float32 angle is already
     * off by about 1e-4 rad.
     */
    public static GraphBuilder rotary(int dim, int rotaryDim, double base, ElementType type) {
        GraphBuilder g = new GraphBuilder("rotary[d " + dim + ", rotary " + rotaryDim + ", base " + base + ", "
                + FeatureMapKernels.label(type) + "]", type);
        Value x = g.input("x", "rows", "seq", dim);
        Value start = g.input("start", ElementType.INT64, 1);
        Value len = g.shape(x, 1, 2);
        Value positions = g.add(g.range(g.scalarLong(0), g.squeeze(len, 0), g.scalarLong(1)), start);
        g.output(rotary(g, x, positions, dim, rotaryDim, base), "y", "rows", "seq", dim);
        return g;
    }

    /**
     * Rotate-halves rotary embedding ({@code based-math.md} c) of {@code x [..., S, dim]} at the INT64
     * {@code positions [S]}: the first {@code rotaryDim} dimensions rotate by {@code p·base^(-2i/rotaryDim)}.
     */
    public static Value rotary(GraphBuilder g, Value x, Value positions, int dim, int rotaryDim, double base) {
        return g.scoped("rotary", () -> {
            int half = rotaryDim / 2;
            double[] invFreq = new double[half];
            for (int i = 0; i < half; i++) {
                invFreq[i] = Math.pow(base, -2.0 * i / rotaryDim);
            }
            Value freq = g.cached(List.of("inv_freq", rotaryDim, base),
                    () -> g.constant("rotary_inv_freq", ElementType.DOUBLE, invFreq, half));
            Value theta = g.mul(g.unsqueeze(g.cast(positions, ElementType.DOUBLE), 1), freq); // [S, half]
            Value cos = g.cast(g.op("Cos", theta), g.computeType());
            Value sin = g.cast(g.op("Sin", theta), g.computeType());
            Value a = g.slice(x, new long[] {0}, new long[] {half}, new long[] {-1});
            Value b = g.slice(x, new long[] {half}, new long[] {rotaryDim}, new long[] {-1});
            Value ra = g.sub(g.mul(a, cos), g.mul(b, sin));
            Value rb = g.add(g.mul(a, sin), g.mul(b, cos));
            if (rotaryDim == dim) {
                return g.concat(-1, ra, rb);
            }
            Value rest = g.slice(x, new long[] {rotaryDim}, new long[] {dim}, new long[] {-1});
            return g.concat(-1, ra, rb, rest);
        });
    }

    /** {@code x [B,S,H·d] → [B,H,S,d]} with the target {@code [B,S,H,d]} given as INT64 input {@code shape [4]}. */
    public static GraphBuilder splitHeads(ElementType type) {
        GraphBuilder g = new GraphBuilder("split_heads[" + FeatureMapKernels.label(type) + "]", type);
        Value x = g.input("x", "batch", "seq", "width");
        Value shape = g.input("shape", ElementType.INT64, 4);
        g.output(g.transpose(g.reshape(x, shape), 0, 2, 1, 3), "y", "batch", "heads", "seq", "d");
        return g;
    }

    /** {@code x [B,H,S,d] → [B,S,H·d]}. */
    public static GraphBuilder mergeHeads(ElementType type) {
        GraphBuilder g = new GraphBuilder("merge_heads[" + FeatureMapKernels.label(type) + "]", type);
        Value x = g.input("x", "batch", "heads", "seq", "d");
        g.output(g.reshape(g.transpose(x, 0, 2, 1, 3), 0, 0, -1), "y", "batch", "seq", "width");
        return g;
    }

    /** Columns {@code [from, to)} of {@code x [R, n]}, bounds as INT64 inputs {@code from [1]}, {@code to [1]}. */
    public static GraphBuilder slice(ElementType type) {
        GraphBuilder g = new GraphBuilder("slice[" + FeatureMapKernels.label(type) + "]", type);
        Value x = g.input("x", "rows", "n");
        Value from = g.input("from", ElementType.INT64, 1);
        Value to = g.input("to", ElementType.INT64, 1);
        g.output(g.slice(x, from, to, g.longs(1)), "y", "rows", "width");
        return g;
    }
}
