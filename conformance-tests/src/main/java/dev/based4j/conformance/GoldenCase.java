package dev.based4j.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One golden case of {@code FORMAT.md}: its {@code case.json} (name, op, config, tensors) and access to its raw
 * little-endian tensor files. Reading a case checks that every listed file exists with exactly the byte count its
 * shape and type call for, so a malformed case is refused before anything runs.
 */
public final class GoldenCase {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One entry of {@code tensors} in {@code case.json}.
     *
     * @param name the tensor's name (a PyTorch state-dict key for weights)
     * @param role {@code input}, {@code weight} or {@code output}
     * @param shape its dimensions
     * @param dtype {@code float32}, {@code float64} or {@code int32}: the element type of {@code file}
     * @param file the raw file
     * @param fileF64 the float64 copy of an output, or null
     */
    public record TensorSpec(String name, String role, Shape shape, String dtype, String file, String fileF64) {}

    private final GoldenSource source;
    private final String folder;
    private final String name;
    private final String op;
    private final JsonNode config;
    private final Map<String, TensorSpec> tensors;

    private GoldenCase(GoldenSource source, String folder, String name, String op, JsonNode config,
            Map<String, TensorSpec> tensors) {
        this.source = source;
        this.folder = folder;
        this.name = name;
        this.op = op;
        this.config = config;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Reads and checks {@code folder/case.json} and the sizes of every file it lists.
     *
     * @param folder the case's folder relative to the source ({@code ""} when the source is the case itself)
     * @throws GoldenFormatException naming the case and the file when anything is missing or malformed
     */
    static GoldenCase read(GoldenSource source, String folder) {
        String prefix = folder.isEmpty() ? "" : folder + "/";
        String label = folder.isEmpty() ? source.describe("") : folder;
        String caseJson = prefix + "case.json";
        if (source.size(caseJson) < 0) {
            throw new GoldenFormatException("golden case '" + label + "': missing file " + source.describe(caseJson));
        }
        JsonNode root;
        try {
            root = JSON.readTree(source.read(caseJson));
        } catch (IOException e) {
            throw new GoldenFormatException("golden case '" + label + "': " + source.describe(caseJson)
                    + " is not valid JSON: " + GoldenSet.jsonProblem(e), e);
        }
        String name = text(root, "name", label, caseJson, source);
        String op = text(root, "op", name, caseJson, source);
        JsonNode byteOrder = root.get("byte_order");
        if (byteOrder != null && !"little".equals(byteOrder.asText())) {
            throw new GoldenFormatException("golden case '" + name + "': " + source.describe(caseJson)
                    + " says byte_order '" + byteOrder.asText() + "', expected 'little'");
        }
        JsonNode config = root.path("config");
        JsonNode list = root.get("tensors");
        if (list == null || !list.isObject()) {
            throw new GoldenFormatException("golden case '" + name + "': " + source.describe(caseJson)
                    + " has no 'tensors' object");
        }
        Map<String, TensorSpec> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = list.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            tensors.put(e.getKey(), spec(source, prefix, name, e.getKey(), e.getValue()));
        }
        return new GoldenCase(source, prefix, name, op, config, tensors);
    }

    private static String text(JsonNode root, String key, String label, String file, GoldenSource source) {
        JsonNode n = root.get(key);
        if (n == null || !n.isTextual() || n.asText().isBlank()) {
            throw new GoldenFormatException("golden case '" + label + "': " + source.describe(file)
                    + " has no '" + key + "'");
        }
        return n.asText();
    }

    private static TensorSpec spec(GoldenSource source, String prefix, String caseName, String tensor, JsonNode t) {
        String where = "golden case '" + caseName + "', tensor '" + tensor + "'";
        JsonNode shapeNode = t.get("shape");
        if (shapeNode == null || !shapeNode.isArray() || shapeNode.isEmpty()) {
            throw new GoldenFormatException(where + ": missing or empty 'shape'");
        }
        int[] dims = new int[shapeNode.size()];
        for (int i = 0; i < dims.length; i++) {
            if (!shapeNode.get(i).canConvertToInt() || shapeNode.get(i).asInt() < 1) {
                throw new GoldenFormatException(where + ": shape " + shapeNode + " has a dimension that is not >= 1");
            }
            dims[i] = shapeNode.get(i).asInt();
        }
        Shape shape = Shape.of(dims);
        String dtype = t.path("dtype").asText("");
        int size = switch (dtype) {
            case "float32", "int32" -> 4;
            case "float64" -> 8;
            default -> throw new GoldenFormatException(where + ": dtype '" + dtype
                    + "', expected float32, float64 or int32");
        };
        String file = t.path("file").asText("");
        if (file.isEmpty()) {
            throw new GoldenFormatException(where + ": no 'file'");
        }
        checkSize(source, prefix + file, shape.elementCount() * size, where, shape, dtype);
        String f64 = t.hasNonNull("file_f64") ? t.get("file_f64").asText() : null;
        if (f64 != null) {
            checkSize(source, prefix + f64, shape.elementCount() * 8, where, shape, "float64");
        }
        return new TensorSpec(tensor, t.path("role").asText(""), shape, dtype, file, f64);
    }

    private static void checkSize(GoldenSource source, String file, long expected, String where, Shape shape,
            String dtype) {
        long found = source.size(file);
        if (found < 0) {
            throw new GoldenFormatException(where + ": missing file " + source.describe(file));
        }
        if (found != expected) {
            throw new GoldenFormatException(where + ": file " + source.describe(file) + " has " + found
                    + " bytes, expected " + expected + " for " + dtype + " " + shape);
        }
    }

    /** @return the case id ({@code name} in {@code case.json}) */
    public String name() {
        return name;
    }

    /** @return the operation ({@code linear_attn_parallel}, ...) */
    public String op() {
        return op;
    }

    /** @return every hyper-parameter ({@code config} in {@code case.json}) */
    public JsonNode config() {
        return config;
    }

    /** @return the tensors by name, in file order */
    public Map<String, TensorSpec> tensors() {
        return tensors;
    }

    /** @return where the case was read from, for messages */
    public String location() {
        return source.describe(folder + "case.json");
    }

    /** @return whether {@code case.json} lists a tensor of that name */
    public boolean has(String tensor) {
        return tensors.containsKey(tensor);
    }

    /**
     * @throws GoldenFormatException naming the case when the tensor is not listed
     */
    public TensorSpec spec(String tensor) {
        TensorSpec t = tensors.get(tensor);
        if (t == null) {
            throw new GoldenFormatException("golden case '" + name + "' (" + op + "): needs tensor '" + tensor
                    + "', which case.json does not list (" + location() + ")");
        }
        return t;
    }

    /**
     * Reads an input or weight (or the stored copy of an output) as a host tensor of {@code as}: float32 values
     * widen exactly to F64.
     */
    public HostTensor tensor(String tensor, DType as) {
        TensorSpec t = spec(tensor);
        if (t.dtype().equals("int32")) {
            throw new GoldenFormatException("golden case '" + name + "', tensor '" + tensor + "': holds int32 token ids, "
                    + "not real values");
        }
        DType stored = t.dtype().equals("float64") ? DType.F64 : DType.F32;
        HostTensor host = HostTensor.wrap(MemorySegment.ofArray(bytes(t.file())), t.shape(), stored);
        return host.to(Objects.requireNonNull(as, "as"));
    }

    /** @return the float64 reference of an output ({@code file_f64}; the file itself when only that exists) */
    public double[] expected(String tensor) {
        TensorSpec t = spec(tensor);
        if (t.fileF64() != null) {
            return HostTensor.wrap(MemorySegment.ofArray(bytes(t.fileF64())), t.shape(), DType.F64).toDoubleArray();
        }
        return tensor(tensor, DType.F64).toDoubleArray();
    }

    /** @return int32 token ids */
    public int[] ints(String tensor) {
        TensorSpec t = spec(tensor);
        if (!t.dtype().equals("int32")) {
            throw new GoldenFormatException("golden case '" + name + "', tensor '" + tensor + "': dtype " + t.dtype()
                    + ", expected int32 token ids");
        }
        MemorySegment seg = MemorySegment.ofArray(bytes(t.file()));
        int[] out = new int[Math.toIntExact(t.shape().elementCount())];
        for (int i = 0; i < out.length; i++) {
            out[i] = seg.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
        }
        return out;
    }

    private byte[] bytes(String file) {
        try {
            return source.read(folder + file);
        } catch (IOException e) {
            throw new GoldenFormatException("golden case '" + name + "': cannot read " + source.describe(folder + file)
                    + ": " + e.getMessage(), e);
        }
    }

    /** @return an integer of {@code config} */
    public int intConfig(String key) {
        JsonNode n = config.get(key);
        if (n == null || !n.canConvertToInt()) {
            throw new GoldenFormatException("golden case '" + name + "' (" + op + "): config needs integer '" + key
                    + "' (" + location() + ")");
        }
        return n.asInt();
    }

    /** @return an integer of {@code config}, or {@code fallback} when absent or null */
    public int intConfig(String key, int fallback) {
        JsonNode n = config.get(key);
        return n == null || n.isNull() ? fallback : intConfig(key);
    }

    /** @return a number of {@code config} */
    public double doubleConfig(String key) {
        JsonNode n = config.get(key);
        if (n == null || !n.isNumber()) {
            throw new GoldenFormatException("golden case '" + name + "' (" + op + "): config needs number '" + key
                    + "' (" + location() + ")");
        }
        return n.asDouble();
    }

    /** @return a number of {@code config}, or {@code fallback} when absent or null */
    public double doubleConfig(String key, double fallback) {
        JsonNode n = config.get(key);
        return n == null || n.isNull() ? fallback : doubleConfig(key);
    }

    /** @return a string of {@code config} */
    public String textConfig(String key) {
        JsonNode n = config.get(key);
        if (n == null || !n.isTextual()) {
            throw new GoldenFormatException("golden case '" + name + "' (" + op + "): config needs text '" + key
                    + "' (" + location() + ")");
        }
        return n.asText();
    }

    @Override
    public String toString() {
        return "GoldenCase[" + name + ", " + op + "]";
    }
}
