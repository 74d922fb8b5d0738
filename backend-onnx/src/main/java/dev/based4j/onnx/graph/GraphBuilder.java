package dev.based4j.onnx.graph;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A small typed builder of ONNX graphs on the protobuf classes of {@code ai.onnx.proto.OnnxMl}: inputs and
 * outputs with fixed or symbolic dimensions, initializers, nodes with attributes, opset imports. Every graph has
 * a compute element type ({@link ElementType#FLOAT} or {@link ElementType#DOUBLE}); {@link #scalar} and the
 * other constant helpers emit constants of that type so that one graph definition serves both precisions.
 *
 * <p>Opset {@value #OPSET} and IR version {@value #IR_VERSION}: the newest the Debian {@code python3-onnx}
 * checker (onnx 1.12) knows, so exported files pass it; ONNX Runtime runs much newer opsets too.
 *
 * <p>Node names are {@code <scope>/<OpType>_<n>}; ONNX Runtime puts the node name into its error messages, so an
 * error names the graph (see {@link #name()}) and the op.
 */
public final class GraphBuilder {
    /** The default-domain opset every graph imports. */
    public static final int OPSET = 17;
    /** The ONNX IR version written into every model. */
    public static final int IR_VERSION = 8;

    private final String name;
    private final ElementType computeType;
    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Set<String> names = new HashSet<>();
    private final Map<String, Integer> counters = new LinkedHashMap<>();
    private final List<String> scopes = new ArrayList<>();
    private final Map<Object, Value> constants = new LinkedHashMap<>();

    /**
     * @param name the graph's name, used in error messages
     * @param computeType the element type of activations: FLOAT or DOUBLE
     */
    public GraphBuilder(String name, ElementType computeType) {
        this.name = Objects.requireNonNull(name, "name");
        this.computeType = Objects.requireNonNull(computeType, "computeType");
        if (computeType != ElementType.FLOAT && computeType != ElementType.DOUBLE) {
            throw new IllegalArgumentException("computeType: expected FLOAT or DOUBLE, got " + computeType);
        }
        graph.setName(name);
    }

    /** @return the graph's name */
    public String name() {
        return name;
    }

    /** @return the element type of activations */
    public ElementType computeType() {
        return computeType;
    }

    // ---------------------------------------------------------------- scopes and names

    /**
     * Runs {@code body} with {@code scope} appended to node and value names (for example {@code layer3/mixer}).
     *
     * @return what {@code body} returns
     */
    public <T> T scoped(String scope, java.util.function.Supplier<T> body) {
        scopes.add(scope);
        try {
            return body.get();
        } finally {
            scopes.removeLast();
        }
    }

    private String prefix() {
        return scopes.isEmpty() ? "" : String.join("/", scopes) + "/";
    }

    private String fresh(String base) {
        String stem = prefix() + base;
        int n = counters.merge(stem, 1, Integer::sum);
        String candidate = stem + "_" + n;
        while (names.contains(candidate)) {
            n = counters.merge(stem, 1, Integer::sum);
            candidate = stem + "_" + n;
        }
        return candidate;
    }

    private void claim(String valueName) {
        if (!names.add(valueName)) {
            throw new IllegalArgumentException("name: '" + valueName + "' is already used in graph " + this.name);
        }
    }

    // ---------------------------------------------------------------- inputs, outputs, initializers

    /**
     * Declares a graph input.
     *
     * @param dims each an {@link Integer} (fixed) or a {@link String} (symbolic, e.g. {@code "batch"})
     */
    public Value input(String inputName, ElementType type, Object... dims) {
        claim(inputName);
        graph.addInput(TensorProtos.valueInfo(inputName, type, dims));
        return new Value(inputName, type);
    }

    /** Declares a graph input of the compute type. */
    public Value input(String inputName, Object... dims) {
        return input(inputName, computeType, dims);
    }

    /**
     * Declares {@code value} as a graph output named {@code outputName} (an Identity node renames it when the
     * name differs or the value is a graph input).
     */
    public Value output(Value value, String outputName, Object... dims) {
        Objects.requireNonNull(value, "value");
        Value named = value;
        if (!value.name().equals(outputName) || isGraphInput(value.name())) {
            claim(outputName);
            graph.addNode(NodeProto.newBuilder().setOpType("Identity").setName(prefix() + outputName + "/Identity")
                    .addInput(value.name()).addOutput(outputName).build());
            named = new Value(outputName, value.type());
        }
        graph.addOutput(TensorProtos.valueInfo(outputName, value.type(), dims));
        return named;
    }

    private boolean isGraphInput(String valueName) {
        return graph.getInputList().stream().anyMatch(v -> v.getName().equals(valueName));
    }

    /** An initializer of the compute type from double values (rounded for FLOAT). */
    public Value initializer(String initName, double[] data, long... dims) {
        return initializer(initName, computeType, data, dims);
    }

    /** An initializer of {@code type} (FLOAT or DOUBLE) from double values. */
    public Value initializer(String initName, ElementType type, double[] data, long... dims) {
        TensorProtos.checkCount(initName, data.length, dims);
        return rawInitializer(initName, type, TensorProtos.encode(type, data), dims);
    }

    /** An initializer of the compute type under a fresh name derived from {@code stem}. */
    public Value constant(String stem, double[] data, long... dims) {
        return initializer(fresh(stem), data, dims);
    }

    /** An initializer of {@code type} (FLOAT or DOUBLE) under a fresh name derived from {@code stem}. */
    public Value constant(String stem, ElementType type, double[] data, long... dims) {
        return initializer(fresh(stem), type, data, dims);
    }

    /**
     * Returns the value cached under {@code key}, creating it with {@code make} the first time (for weights
     * that several parts of one graph share, such as a feature map's projection).
     */
    public Value cached(Object key, java.util.function.Supplier<Value> make) {
        Value v = constants.get(key);
        if (v == null) {
            v = make.get();
            constants.put(key, v);
        }
        return v;
    }

    /** An INT64 initializer. */
    public Value initializer(String initName, long[] data, long... dims) {
        TensorProtos.checkCount(initName, data.length, dims);
        return rawInitializer(initName, ElementType.INT64, TensorProtos.encode(data), dims);
    }

    /**
     * An initializer from raw little-endian bytes (for large weights: no per-element copy through Java arrays).
     *
     * @param data little-endian elements of {@code type}, {@code remaining()} bytes are used
     */
    public Value rawInitializer(String initName, ElementType type, ByteBuffer data, long... dims) {
        claim(initName);
        graph.addInitializer(TensorProtos.raw(initName, type, data, dims));
        return new Value(initName, type);
    }

    /**
     * An initializer whose bytes live in a separate file beside the model (ONNX external data), for models whose
     * weights exceed protobuf's 2 GiB limit.
     *
     * @param location the data file's name relative to the model file
     * @param offset byte offset of this tensor in the data file
     * @param length byte length, {@code count · byteSize}
     */
    public Value externalInitializer(String initName, ElementType type, String location, long offset, long length,
            long... dims) {
        claim(initName);
        graph.addInitializer(TensorProtos.external(initName, type, location, offset, length, dims));
        return new Value(initName, type);
    }


    // ---------------------------------------------------------------- constants

    /** A scalar (rank 0) constant of the compute type, shared by every use. */
    public Value scalar(double value) {
        return constants.computeIfAbsent(List.of("scalar", computeType, Double.doubleToLongBits(value)),
                k -> initializer(fresh("c"), new double[] {value}));
    }

    /** A scalar constant of {@code type} (FLOAT or DOUBLE). */
    public Value scalar(double value, ElementType type) {
        return constants.computeIfAbsent(List.of("scalar", type, Double.doubleToLongBits(value)),
                k -> initializer(fresh("c"), type, new double[] {value}));
    }

    /** A scalar INT64 constant. */
    public Value scalarLong(long value) {
        return constants.computeIfAbsent(List.of("scalarLong", value),
                k -> initializer(fresh("i"), new long[] {value}));
    }

    /** A 1-D INT64 constant, e.g. for shapes, axes and slice bounds. */
    public Value longs(long... values) {
        List<Long> key = new ArrayList<>();
        for (long v : values) {
            key.add(v);
        }
        return constants.computeIfAbsent(List.of("longs", key),
                k -> initializer(fresh("i"), values.clone(), values.length));
    }

    // ---------------------------------------------------------------- nodes

    /** Adds a node with one output. */
    public Value op(String opType, List<Attribute> attributes, Value... inputs) {
        return opMulti(opType, 1, attributes, inputs)[0];
    }

    /** Adds a node with one output and no attributes. */
    public Value op(String opType, Value... inputs) {
        return op(opType, List.of(), inputs);
    }

    /**
     * Adds a node with {@code outputs} outputs. A {@code null} input is an omitted optional input.
     *
     * @return the outputs; their element type is the first input's (callers that change it use {@link #cast})
     */
    public Value[] opMulti(String opType, int outputs, List<Attribute> attributes, Value... inputs) {
        String nodeName = fresh(opType);
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(opType).setName(nodeName);
        ElementType type = computeType;
        boolean typed = false;
        for (Value in : inputs) {
            node.addInput(in == null ? "" : in.name());
            if (in != null && !typed) {
                type = in.type();
                typed = true;
            }
        }
        Value[] out = new Value[outputs];
        for (int i = 0; i < outputs; i++) {
            String outName = nodeName + (outputs == 1 ? "" : ":" + i);
            claim(outName);
            node.addOutput(outName);
            out[i] = new Value(outName, type);
        }
        for (Attribute a : attributes) {
            node.addAttribute(a.proto());
        }
        graph.addNode(node);
        return out;
    }

    /** Adds a node whose output type differs from its first input's (Shape, Cast, comparisons, ...). */
    public Value opTyped(String opType, ElementType outputType, List<Attribute> attributes, Value... inputs) {
        Value v = op(opType, attributes, inputs);
        return new Value(v.name(), outputType);
    }

    // ---------------------------------------------------------------- common ops

    /** {@code a + b} with broadcasting. */
    public Value add(Value a, Value b) {
        return op("Add", a, b);
    }

    /** {@code a - b}. */
    public Value sub(Value a, Value b) {
        return op("Sub", a, b);
    }

    /** {@code a * b}. */
    public Value mul(Value a, Value b) {
        return op("Mul", a, b);
    }

    /** {@code a / b}. */
    public Value div(Value a, Value b) {
        return op("Div", a, b);
    }

    /** Batched matrix product over the last two axes. */
    public Value matMul(Value a, Value b) {
        return op("MatMul", a, b);
    }

    /** Transposes with {@code perm}. */
    public Value transpose(Value x, long... perm) {
        return op("Transpose", List.of(Attribute.ints("perm", perm)), x);
    }

    /** Swaps the last two axes of a rank-{@code rank} tensor. */
    public Value transposeLast(Value x, int rank) {
        long[] perm = new long[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = i;
        }
        perm[rank - 2] = rank - 1;
        perm[rank - 1] = rank - 2;
        return transpose(x, perm);
    }

    /** Reshape to a constant shape ({@code 0} copies the input's dimension, {@code -1} is inferred). */
    public Value reshape(Value x, long... shape) {
        return op("Reshape", x, longs(shape));
    }

    /** Reshape to a shape computed in the graph (an INT64 1-D value). */
    public Value reshape(Value x, Value shape) {
        return op("Reshape", x, shape);
    }

    /** Sum over {@code axes}. */
    public Value reduceSum(Value x, boolean keepDims, long... axes) {
        return op("ReduceSum", List.of(Attribute.i("keepdims", keepDims ? 1 : 0)), x, longs(axes));
    }

    /** Maximum over {@code axes} (opset 17: axes is an attribute). */
    public Value reduceMax(Value x, boolean keepDims, long... axes) {
        return op("ReduceMax", List.of(Attribute.ints("axes", axes), Attribute.i("keepdims", keepDims ? 1 : 0)), x);
    }

    /** Mean over {@code axes} (opset 17: axes is an attribute). */
    public Value reduceMean(Value x, boolean keepDims, long... axes) {
        return op("ReduceMean", List.of(Attribute.ints("axes", axes), Attribute.i("keepdims", keepDims ? 1 : 0)), x);
    }

    /** Inserts axes of size 1. */
    public Value unsqueeze(Value x, long... axes) {
        return op("Unsqueeze", x, longs(axes));
    }

    /** Removes axes of size 1. */
    public Value squeeze(Value x, long... axes) {
        return op("Squeeze", x, longs(axes));
    }

    /** Concatenates along {@code axis}. */
    public Value concat(long axis, Value... parts) {
        return op("Concat", List.of(Attribute.i("axis", axis)), parts);
    }

    /** Slice with constant bounds along {@code axes}. */
    public Value slice(Value x, long[] starts, long[] ends, long[] axes) {
        return op("Slice", x, longs(starts), longs(ends), longs(axes));
    }

    /** Slice with bounds computed in the graph (INT64 1-D values). */
    public Value slice(Value x, Value starts, Value ends, Value axes) {
        return op("Slice", x, starts, ends, axes);
    }

    /** Element type conversion. */
    public Value cast(Value x, ElementType to) {
        if (x.type() == to) {
            return x;
        }
        return opTyped("Cast", to, List.of(Attribute.i("to", to.onnxCode())), x);
    }

    /** The shape as INT64 1-D; {@code start}/{@code end} select axes (opset 15). */
    public Value shape(Value x, long start, long end) {
        return opTyped("Shape", ElementType.INT64, List.of(Attribute.i("start", start), Attribute.i("end", end)), x);
    }

    /** The shape from {@code start} to the last axis. */
    public Value shape(Value x, long start) {
        return opTyped("Shape", ElementType.INT64, List.of(Attribute.i("start", start)), x);
    }

    /** Condition ? a : b. */
    public Value where(Value condition, Value a, Value b) {
        Value v = op("Where", condition, a, b);
        return new Value(v.name(), a.type());
    }

    /** Element-wise comparison {@code a > b} (BOOL). */
    public Value greater(Value a, Value b) {
        return opTyped("Greater", ElementType.BOOL, List.of(), a, b);
    }

    /** Element-wise comparison {@code a >= b} (BOOL). */
    public Value greaterOrEqual(Value a, Value b) {
        return opTyped("GreaterOrEqual", ElementType.BOOL, List.of(), a, b);
    }

    /** Element-wise comparison {@code a <= b} (BOOL). */
    public Value lessOrEqual(Value a, Value b) {
        return opTyped("LessOrEqual", ElementType.BOOL, List.of(), a, b);
    }

    /** Element-wise comparison {@code a < b} (BOOL). */
    public Value less(Value a, Value b) {
        return opTyped("Less", ElementType.BOOL, List.of(), a, b);
    }

    /** Logical and. */
    public Value and(Value a, Value b) {
        return opTyped("And", ElementType.BOOL, List.of(), a, b);
    }

    /** {@code Range(start, limit, delta)}, each a scalar of one type. */
    public Value range(Value start, Value limit, Value delta) {
        return op("Range", start, limit, delta);
    }

    // ---------------------------------------------------------------- model

    /** @return the model with metadata {@code props} (may be empty) */
    public ModelProto build(Map<String, String> props) {
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("based4j")
                .setProducerVersion("0.1")
                .setDomain("dev.based4j")
                .setModelVersion(1)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph.build());
        props.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }

    /** @return the serialized model, ready for {@code OrtEnvironment.createSession(byte[], options)} */
    public byte[] toBytes() {
        return build(Map.of()).toByteArray();
    }
}
