package dev.based4j.onnx.export;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.BasedAttentionLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.SwiGluMlp;
import dev.based4j.layer.WeightSource;
import dev.based4j.onnx.graph.Attribute;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.onnx.kernels.BasedAttentionKernels;
import dev.based4j.onnx.kernels.ConvKernels;
import dev.based4j.onnx.kernels.LinearAttentionKernels;
import dev.based4j.onnx.kernels.PlumbingKernels;
import dev.based4j.onnx.kernels.SlidingWindowKernels;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Weight;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;


/**
 * Builds one graph of {@link OnnxExporter}: the embedding, every layer's mixer (through the kernels' subgraph methods)
 * and MLP with their norms, the head, and the state inputs and outputs of the chosen mode; weights become initializers,
 * inside the model or appended to an external data file. Matrix weights given in bf16, f16 or int8 (with their
 * scales under {@code <name>.scales}) stay so in the file, followed by the nodes that widen or scale them.
 */
final class ExportGraph {
    /** Appends weights to an external data file. */
    record External(String location, OutputStream stream) {}

    final GraphBuilder g;
    final LayerStack.Config config;
    final WeightSource weights;
    final OnnxExporter.Mode mode;
    final DType dtype;
    final ElementType type;
    final External external;
    final List<String> inputs = new ArrayList<>();
    final List<String> outputs = new ArrayList<>();
    long weightBytes;
    long externalOffset;
    /** The formats the matrix weights were written in ({@code f32}, {@code bf16}, {@code int8-g64}, ...). */
    final Set<String> formats = new TreeSet<>();

    /**
     * Suffix of the scales of an int8 weight in a {@link WeightSource}: {@code proj_q.weight.scales} holds those of
     * {@code proj_q.weight}, {@code [out]} for one scale per output channel, {@code [out, in / group]} per group.
     */
    static final String SCALES = ".scales";

    ExportGraph(LayerStack.Config config, WeightSource weights, OnnxExporter.Mode mode, DType dtype, External external) {
        this.config = Objects.requireNonNull(config, "config: expected a LayerStack.Config, got null");
        this.weights = Objects.requireNonNull(weights, "weights: expected a WeightSource, got null");
        this.mode = Objects.requireNonNull(mode, "mode: expected PREFILL or DECODE, got null");
        this.dtype = Objects.requireNonNull(dtype, "dtype: expected f32 or f64, got null");
        if (config.vocabSize() < 1) {
            throw new IllegalArgumentException("config: vocabSize is 0 (a stack without embedding and head); "
                    + "export needs token ids in and logits out");
        }
        this.type = ElementType.of(dtype);
        this.external = external;
        this.g = new GraphBuilder("based_" + mode.name().toLowerCase(Locale.ROOT) + "_" + config.mixers().size()
                + "_layers_" + dtype.label(), type);
        build();
    }

    Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("based4j.mode", mode.name().toLowerCase(Locale.ROOT));
        m.put("based4j.dtype", dtype.label());
        m.put("based4j.weights", String.join(", ", formats));
        m.put("based4j.vocab_size", Integer.toString(config.vocabSize()));
        m.put("based4j.d_model", Integer.toString(config.modelDim()));
        List<String> layers = new ArrayList<>();
        for (MixerConfig c : config.mixers()) {
            layers.add(c.toString());
        }
        m.put("based4j.layers", String.join("; ", layers));
        m.put("based4j.state_layout", "present.<layer>.<name> / past.<layer>.<name>: kv [B,H,dv,D], z [B,H,D], "
                + "ring_k/ring_v [B,H,lookback+1,d] (position p in slot p mod (lookback+1)), conv [B,inner,K]");
        return m;
    }

    private void build() {
        int d = config.modelDim();
        int vocab = config.vocabSize();
        boolean decode = mode == OnnxExporter.Mode.DECODE;
        Object seq = decode ? (Object) 1 : "seq";
        Value ids = input(g.input("input_ids", ElementType.INT64, "batch", seq));
        Value pos = decode ? input(g.input("position", ElementType.INT64, 1)) : g.longs(0);
        Value len = g.shape(ids, 1, 2);
        Value batch = g.shape(ids, 0, 1);
        Value positions = g.add(g.range(g.scalarLong(0), g.squeeze(len, 0), g.scalarLong(1)), pos);

        Value residual = embedding(ids, vocab, d); // [B, L, D]
        List<Value[]> stateOut = new ArrayList<>();
        for (int i = 0; i < config.mixers().size(); i++) {
            final int layer = i;
            final Value res = residual;
            residual = g.scoped("layer" + i, () -> block(layer, res, batch, pos, positions, stateOut));
        }
        Value normed = PlumbingKernels.rmsNorm(g, residual, weight(LayerStack.FINAL_NORM, Shape.of(d), false),
                g.scalar(config.normEps()));
        Value head = matrix(config.tiedHead() ? LayerStack.EMBEDDING : LayerStack.HEAD, Shape.of(vocab, d));
        Value flat = g.reshape(normed, -1, d);
        Value logits = g.reshape(g.op("Gemm", List.of(Attribute.i("transB", 1)), flat, head),
                g.concat(0, batch, len, g.longs(vocab)));
        output(logits, "logits", "batch", seq, vocab);
        output(g.add(pos, len), "position_out", 1);
        for (int i = 0; i < stateOut.size(); i++) {
            List<String> names = OnnxExporter.stateNames(config.mixers().get(i));
            Object[][] dims = stateDims(config.mixers().get(i));
            for (int s = 0; s < names.size(); s++) {
                output(stateOut.get(i)[s], "present." + i + "." + names.get(s), dims[s]);
            }
        }
    }

    private Value input(Value v) {
        inputs.add(v.name());
        return v;
    }

    private void output(Value v, String name, Object... dims) {
        g.output(v, name, dims);
        outputs.add(name);
    }

    private Value block(int layer, Value residual, Value batch, Value pos, Value positions, List<Value[]> stateOut) {
        String prefix = LayerStack.LAYER_PREFIX + layer + ".";
        int d = config.modelDim();
        Value eps = g.scalar(config.normEps());
        Value h1 = PlumbingKernels.rmsNorm(g, residual, weight(prefix + "norm1.weight", Shape.of(d), false), eps);
        MixerConfig mixer = config.mixers().get(layer);
        Value[] states = initialStates(layer, mixer, batch);
        Value[] newStates = new Value[states.length];
        Value h = g.scoped("mixer", () -> mixer(prefix + "mixer.", mixer, h1, pos, positions, states, newStates));
        stateOut.add(newStates);
        Value r = g.add(residual, h);
        SwiGluMlp.Config mlp = config.mlp();
        if (mlp == null) {
            return r;
        }
        Value h2 = PlumbingKernels.rmsNorm(g, r, weight(prefix + "norm2.weight", Shape.of(d), false), eps);
        Value m = g.scoped("mlp", () -> {
            int hidden = mlp.hidden();
            Value u = linear(h2, prefix + "mlp.fc1.weight", 2 * hidden, d, null);
            Value lin = g.slice(u, new long[] {0}, new long[] {hidden}, new long[] {-1});
            Value gate = g.slice(u, new long[] {hidden}, new long[] {2L * hidden}, new long[] {-1});
            return linear(g.mul(lin, PlumbingKernels.silu(g, gate)), prefix + "mlp.fc2.weight", d, hidden, null);
        });
        return g.add(r, m);
    }

    /** The state inputs of a decode graph, or zeros (computed from the batch size) in a prefill graph. */
    private Value[] initialStates(int layer, MixerConfig mixer, Value batch) {
        List<String> names = OnnxExporter.stateNames(mixer);
        Object[][] dims = stateDims(mixer);
        Value[] out = new Value[names.size()];
        for (int s = 0; s < out.length; s++) {
            if (mode == OnnxExporter.Mode.DECODE) {
                out[s] = input(g.input("past." + layer + "." + names.get(s), dims[s]));
            } else {
                long[] rest = new long[dims[s].length - 1];
                for (int j = 1; j < dims[s].length; j++) {
                    rest[j - 1] = ((Number) dims[s][j]).longValue();
                }
                out[s] = g.op("Expand", g.scalar(0), g.concat(0, batch, g.longs(rest)));
            }
        }
        return out;
    }

    private Object[][] stateDims(MixerConfig mixer) {
        return switch (mixer) {
            case LinearAttentionLayer.Config c -> new Object[][] {
                {"batch", c.heads(), c.headDim(), c.spec().expandedDim()}, {"batch", c.heads(), c.spec().expandedDim()}};
            case BasedAttentionLayer.Config c -> {
                int cap = c.spec().lookback() + 1;
                int e = c.spec().featureMap().outputDim();
                yield new Object[][] {{"batch", c.heads(), c.headDim(), e}, {"batch", c.heads(), e},
                    {"batch", c.heads(), cap, c.spec().featureMap().inputDim()}, {"batch", c.heads(), cap, c.headDim()}};
            }
            case SlidingWindowLayer.Config c -> {
                int cap = c.window().isUnbounded() ? c.maxTokens() : c.window().lookback() + 1;
                yield new Object[][] {{"batch", c.heads(), cap, c.headDim()}, {"batch", c.heads(), cap, c.headDim()}};
            }
            case BaseConvLayer.Config c -> new Object[][] {{"batch", c.spec().innerDim(), c.spec().kernelSize()}};
        };
    }

    private Value mixer(String prefix, MixerConfig mixer, Value x, Value pos, Value positions, Value[] states,
            Value[] newStates) {
        int d = config.modelDim();
        boolean decode = mode == OnnxExporter.Mode.DECODE;
        switch (mixer) {
            case LinearAttentionLayer.Config c -> {
                int h = c.heads();
                int f = c.featureDim();
                int hd = c.headDim();
                Value q = heads(linear(x, prefix + "proj_q.weight", h * f, d, null), h, f);
                Value k = heads(linear(x, prefix + "proj_k.weight", h * f, d, null), h, f);
                Value v = heads(linear(x, prefix + "proj_v.weight", h * hd, d, null), h, hd);
                LinearAttentionKernels.Outputs o = LinearAttentionKernels.apply(g, c.spec(),
                        decode ? LinearAttentionKernels.Form.DECODE : LinearAttentionKernels.Form.CHUNKED,
                        q, k, v, states[0], states[1]);
                newStates[0] = o.kv();
                newStates[1] = o.z();
                return linear(merge(o.y()), prefix + "out_proj.weight", d, h * hd, null);
            }
            case BasedAttentionLayer.Config c -> {
                int h = c.heads();
                int f = c.spec().featureMap().inputDim();
                int hd = c.headDim();
                Value q = heads(linear(x, prefix + "proj_q.weight", h * f, d, null), h, f);
                Value k = heads(linear(x, prefix + "proj_k.weight", h * f, d, null), h, f);
                Value v = heads(linear(x, prefix + "proj_v.weight", h * hd, d, null), h, hd);
                BasedAttentionKernels.Outputs o = BasedAttentionKernels.apply(g, c.spec(),
                        decode ? BasedAttentionKernels.Form.SHORT : BasedAttentionKernels.Form.LONG,
                        q, k, v, states[0], states[1], states[2], states[3], pos);
                newStates[0] = o.kv();
                newStates[1] = o.z();
                newStates[2] = o.ringK();
                newStates[3] = o.ringV();
                return linear(merge(o.y()), prefix + "out_proj.weight", d, h * hd, null);
            }
            case SlidingWindowLayer.Config c -> {
                int h = c.heads();
                int hd = c.headDim();
                Value qkv = linear(x, prefix + "Wqkv.weight", 3 * d, d, c.qkvBias() ? prefix + "Wqkv.bias" : null);
                Value q = heads(g.slice(qkv, new long[] {0}, new long[] {d}, new long[] {-1}), h, hd);
                Value k = heads(g.slice(qkv, new long[] {d}, new long[] {2L * d}, new long[] {-1}), h, hd);
                Value v = heads(g.slice(qkv, new long[] {2L * d}, new long[] {3L * d}, new long[] {-1}), h, hd);
                if (c.rotaryDim() > 0) {
                    q = PlumbingKernels.rotary(g, q, positions, hd, c.rotaryDim(), c.rotaryBase());
                    k = PlumbingKernels.rotary(g, k, positions, hd, c.rotaryDim(), c.rotaryBase());
                }
                SlidingWindowSpec w = c.window();
                SlidingWindowKernels.Form form = decode || w.isUnbounded() ? SlidingWindowKernels.Form.FULL : SlidingWindowKernels.Form.BLOCKED;
                SlidingWindowKernels.Outputs o = SlidingWindowKernels.apply(g, w, form, q, k, v, states[0], states[1], pos);
                newStates[0] = o.ringK();
                newStates[1] = o.ringV();
                return linear(merge(o.y()), prefix + "out_proj.weight", d, d, c.outBias() ? prefix + "out_proj.bias" : null);
            }
            case BaseConvLayer.Config c -> {
                int inner = c.spec().innerDim();
                int kernel = c.spec().kernelSize();
                Value u = linear(x, prefix + "in_proj.weight", 2 * inner, d, prefix + "in_proj.bias");
                Value u1 = g.slice(u, new long[] {0}, new long[] {inner}, new long[] {-1});
                Value u2 = g.slice(u, new long[] {inner}, new long[] {2L * inner}, new long[] {-1});
                Value w = weight(prefix + "conv.conv.weight", Shape.of(inner, 1, kernel), false, inner, kernel);
                ConvKernels.Outputs o = ConvKernels.apply(g, kernel, u1, w, states[0]);
                newStates[0] = o.window();
                Value gated = g.mul(PlumbingKernels.silu(g, o.y()), u2);
                return linear(gated, prefix + "out_proj.weight", d, inner, prefix + "out_proj.bias");
            }
        }
    }

    /** {@code x [B, L, H·dh] → [B, H, L, dh]}. */
    private Value heads(Value x, int h, int dh) {
        return g.transpose(g.reshape(x, 0, 0, h, dh), 0, 2, 1, 3);
    }

    /** {@code y [B, H, L, dh] → [B, L, H·dh]}. */
    private Value merge(Value y) {
        return g.reshape(g.transpose(y, 0, 2, 1, 3), 0, 0, -1);
    }

    /**
     * {@code x·Wᵀ (+ b)}. A weight of a compute type is written transposed, {@code [in, out]}, for a plain
     * {@code MatMul}; a weight in a reduced format keeps the checkpoint's {@code [out, in]} in its own type
     * ({@link #matrix}) and multiplies the rows of {@code x} with {@code Gemm(transB = 1)}.
     */
    private Value linear(Value x, String name, int out, int in, String bias) {
        Shape shape = Shape.of(out, in);
        if (!isReduced(tensor(name, shape))) {
            Value y = g.matMul(x, weight(name, shape, true));
            return bias == null ? y : g.add(y, weight(bias, Shape.of(out), false));
        }
        Value w = matrix(name, shape);
        Value rows = g.reshape(x, -1, in);
        Value y = bias == null ? g.op("Gemm", List.of(Attribute.i("transB", 1)), rows, w)
                : g.op("Gemm", List.of(Attribute.i("transB", 1)), rows, w, weight(bias, Shape.of(out), false));
        return g.reshape(y, g.concat(0, g.shape(x, 0, -1), g.longs(out)));
    }

    /**
     * The token embedding of {@code ids}: {@code Gather} from the table; a table in a reduced format is gathered in its
     * own type and only the gathered rows are turned into the compute type.
     */
    private Value embedding(Value ids, int vocab, int d) {
        String name = LayerStack.EMBEDDING;
        Shape shape = Shape.of(vocab, d);
        HostTensor t = tensor(name, shape);
        if (!isReduced(t)) {
            return g.op("Gather", matrix(name, shape), ids);
        }
        Stored s = stored(name, t);
        return g.scoped("embedding", () -> PlumbingKernels.gather(g, s.values(), s.scales(), s.groupSize(), ids));
    }

    /** Whether a matrix weight is stored in a reduced format (bf16, f16, int8), which the file keeps. */
    private static boolean isReduced(HostTensor t) {
        return !t.dtype().isCompute();
    }

    /**
     * A matrix weight {@code [out, in]} (a projection, the embedding, the head) in the compute type: a compute-type
     * weight as an initializer of the compute type; a reduced one as initializers of its own type (and its int8 scales)
     * followed by the nodes that widen or scale it ({@link PlumbingKernels#dequantize}).
     */
    private Value matrix(String name, Shape expected) {
        HostTensor t = tensor(name, expected);
        if (!isReduced(t)) {
            return weight(name, expected, false);
        }
        return g.cached(List.of("dequantized", name), () -> {
            Stored s = stored(name, t);
            return g.scoped("dequantize", () -> PlumbingKernels.dequantize(g, s.values(), s.scales(), s.groupSize()));
        });
    }

    /** A reduced-format weight as the file holds it: values in their own type, int8 scales in the compute type. */
    private record Stored(Value values, Value scales, int groupSize) {}

    private Stored stored(String name, HostTensor t) {
        Shape shape = t.shape();
        Value values = g.cached(List.of("stored", name),
                () -> store(name, ElementType.stored(t.dtype()), raw(t), dimsOf(shape, false)));
        if (t.dtype() != DType.I8) {
            formats.add(t.dtype().label());
            return new Stored(values, null, 0);
        }
        String scalesName = name + SCALES;
        HostTensor scales = weights.get(scalesName);
        int group = groupSize(name, shape, scales);
        formats.add(group == 0 ? "int8" : "int8-g" + group);
        Value sv = g.cached(List.of("scales", name),
                () -> store(scalesName, type, encode(scales, false), dimsOf(scales.shape(), false)));
        return new Stored(values, sv, group);
    }

    /**
     * The group size of an int8 weight, read from the shape of its scales ({@code [out]}: 0, one scale per output
     * channel; {@code [out, in / g]}: groups of {@code g} inputs), which are checked: a compute type, finite values.
     */
    private static int groupSize(String name, Shape shape, HostTensor scales) {
        String scalesName = name + SCALES;
        if (scales == null) {
            throw new IllegalArgumentException("weights: tensor '" + scalesName + "' is missing; the int8 weight '"
                    + name + "' needs its scales");
        }
        Shape ss = scales.shape();
        int group = -1;
        if (ss.equals(Shape.of(shape.dim(0)))) {
            group = 0;
        } else if (ss.rank() == 2 && ss.dim(0) == shape.dim(0) && shape.dim(1) % ss.dim(1) == 0) {
            group = shape.dim(1) / ss.dim(1);
        }
        if (group < 0 || group != 0 && (group < Weight.MIN_GROUP || group > Weight.MAX_GROUP)) {
            throw new IllegalArgumentException("weights: tensor '" + scalesName + "' expected shape [" + shape.dim(0)
                    + "] (one scale per output channel) or [" + shape.dim(0) + ", in / group] with a group of "
                    + Weight.MIN_GROUP + ".." + Weight.MAX_GROUP + " dividing in=" + shape.dim(1) + ", found " + ss);
        }
        if (!scales.dtype().isCompute()) {
            throw new IllegalArgumentException("weights: tensor '" + scalesName + "' expected f32 or f64 scales, found "
                    + scales.dtype().label());
        }
        for (long i = 0; i < ss.elementCount(); i++) {
            double v = scales.getDouble(i);
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("weights: tensor '" + scalesName + "' element " + i + " is " + v
                        + "; scales must be finite");
            }
        }
        return group;
    }

    /** The tensor {@code name}, checked to have shape {@code expected}. */
    private HostTensor tensor(String name, Shape expected) {
        HostTensor t = weights.get(name);
        if (t == null) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' is missing");
        }
        if (!t.shape().equals(expected)) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected shape " + expected
                    + ", found " + t.shape());
        }
        return t;
    }

    /** A weight of the compute type (converted from what is stored), transposed when asked. */
    private Value weight(String name, Shape expected, boolean transpose, long... reshape) {
        HostTensor t = tensor(name, expected);
        return g.cached(List.of("weight", name), () -> {
            if (expected.rank() == 2 && reshape.length == 0) {
                formats.add(dtype.label());
            }
            long[] dims = reshape.length > 0 ? reshape : dimsOf(expected, transpose);
            return store(name, type, encode(t, transpose), dims);
        });
    }

    /** An initializer of {@code bytes}, inside the model or appended to the external data file. */
    private Value store(String name, ElementType elementType, ByteBuffer bytes, long[] dims) {
        weightBytes += bytes.remaining();
        if (external == null) {
            return g.rawInitializer(name, elementType, bytes, dims);
        }
        long offset = externalOffset;
        long length = bytes.remaining();
        try {
            WritableByteChannel ch = Channels.newChannel(external.stream());
            while (bytes.hasRemaining()) {
                ch.write(bytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write weight " + name + " to " + external.location(), e);
        }
        externalOffset += length;
        return g.externalInitializer(name, elementType, external.location(), offset, length, dims);
    }

    /** The elements of a bf16, f16 or int8 tensor as stored, little-endian, as ONNX's raw data holds them. */
    private static ByteBuffer raw(HostTensor t) {
        long n = t.shape().elementCount();
        int size = t.dtype().byteSize();
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n * size)).order(ByteOrder.LITTLE_ENDIAN);
        MemorySegment seg = t.segment();
        for (long i = 0; i < n; i++) {
            if (size == 1) {
                b.put(seg.get(ValueLayout.JAVA_BYTE, i));
            } else {
                b.putShort(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            }
        }
        return b.flip();
    }

    private static long[] dimsOf(Shape s, boolean transpose) {
        if (transpose) {
            return new long[] {s.dim(1), s.dim(0)};
        }
        long[] d = new long[s.rank()];
        for (int i = 0; i < d.length; i++) {
            d[i] = s.dim(i);
        }
        return d;
    }

    /** Little-endian elements of the export type, transposing a matrix when asked. */
    private ByteBuffer encode(HostTensor t, boolean transpose) {
        long n = t.shape().elementCount();
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n * type.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        int rows = transpose ? t.shape().dim(0) : 1;
        int cols = transpose ? t.shape().dim(1) : (int) n;
        for (long i = 0; i < n; i++) {
            // element i of the written tensor; for a transpose, written [c][r] comes from source [r][c]
            long src = transpose ? (i % rows) * cols + i / rows : i;
            double v = t.getDouble(src);
            if (type == ElementType.DOUBLE) {
                b.putDouble(v);
            } else {
                b.putFloat((float) v);
            }
        }
        return b.flip();
    }
}
