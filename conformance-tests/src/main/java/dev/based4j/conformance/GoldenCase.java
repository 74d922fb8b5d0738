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
 *
 * <p>Golden files are input like any other. {@code case.json} is at most {@value #MAX_CASE_JSON_BYTES} bytes, is
 * read strictly (one JSON object and nothing after it, no duplicate keys, bounded nesting and number lengths) and its
 * integers exactly ({@code 4294967297} is refused, never read as 1); shape dimensions are integers ≥ 1 whose product
 * fits a long; and what the case declares (its files, their float64 copies) is held to {@link #budgetBytes()} before
 * any of it is read.
 */
public final class GoldenCase {
    /** Largest {@code case.json} and {@code index.json} read, in bytes. */
    public static final long MAX_CASE_JSON_BYTES = 1L << 20;

    /** The strict reader of golden JSON. */
    static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxNestingDepth(64).maxNumberLength(64).maxStringLength(1 << 20)
                    .maxDocumentLength(MAX_CASE_JSON_BYTES).build())
            .build())
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

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
        long jsonSize = source.size(caseJson);
        if (jsonSize < 0) {
            throw new GoldenFormatException("golden case '" + label + "': missing file " + source.describe(caseJson));
        }
        if (jsonSize > MAX_CASE_JSON_BYTES) {
            throw new GoldenFormatException("golden case '" + label + "': " + source.describe(caseJson) + " is "
                    + jsonSize + " bytes, above the limit of " + MAX_CASE_JSON_BYTES + " (refused before reading it)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(source.read(caseJson, MAX_CASE_JSON_BYTES));
        } catch (IOException e) {
            throw new GoldenFormatException("golden case '" + label + "': " + source.describe(caseJson)
                    + " is not valid JSON: " + GoldenSet.jsonProblem(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new GoldenFormatException("golden case '" + label + "': " + source.describe(caseJson)
                    + " is not a JSON object");
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
        if (!config.isMissingNode() && !config.isObject()) {
            throw new GoldenFormatException("golden case '" + name + "': " + source.describe(caseJson)
                    + " has a 'config' that is not an object");
        }
        Map<String, TensorSpec> tensors = new LinkedHashMap<>();
        long declared = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = list.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            TensorSpec t = spec(source, prefix, name, e.getKey(), e.getValue());
            tensors.put(e.getKey(), t);
            // each file is read whole and widened to float64 when used
            long perElement = bytesPerElement(t.dtype()) + 8 + (t.fileF64() != null ? 16 : 0);
            declared = addBytes(name, declared, t.shape().elementCount(), perElement, "tensor '" + e.getKey() + "'");
        }
        requireBudget(name, declared, "its tensor files and their float64 copies");
        return new GoldenCase(source, prefix, name, op, config, tensors);
    }

    /**
     * The most bytes one case may make the runner hold at once (its files, their float64 copies, the states and
     * outputs it allocates): a quarter of the JVM's maximum heap ({@code -Xmx}). Golden cases are test vectors of a
     * few megabytes; a case declaring more is refused as malformed before anything is read or allocated.
     *
     * @return the budget in bytes
     */
    public static long budgetBytes() {
        return Runtime.getRuntime().maxMemory() / 4;
    }

    /** @throws GoldenFormatException naming the case, what needs the bytes, the bytes and the budget */
    static void requireBudget(String caseName, long bytes, String what) {
        long budget = budgetBytes();
        if (bytes > budget) {
            throw new GoldenFormatException("golden case '" + caseName + "': " + what + " need " + bytes
                    + " bytes, above the budget of " + budget + " bytes for one case (a quarter of the maximum heap)");
        }
    }

    /** @return {@code total + elements × perElement}, refusing a count that does not fit a long */
    static long addBytes(String caseName, long total, long elements, long perElement, String what) {
        try {
            return Math.addExact(total, Math.multiplyExact(elements, perElement));
        } catch (ArithmeticException e) {
            throw new GoldenFormatException("golden case '" + caseName + "': " + what + " needs more bytes than a"
                    + " 64-bit count holds", e);
        }
    }

    private static int bytesPerElement(String dtype) {
        return dtype.equals("float64") ? 8 : 4;
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
        if (shapeNode.size() > 8) {
            throw new GoldenFormatException(where + ": shape " + shapeNode + " has " + shapeNode.size()
                    + " dimensions, at most 8 are read");
        }
        int[] dims = new int[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToInt() || d.asInt() < 1) {
                throw new GoldenFormatException(where + ": shape " + shapeNode + " has dimension " + i + " = " + d
                        + ", expected an integer in [1, " + Integer.MAX_VALUE + "]");
            }
            dims[i] = d.asInt();
            if (elements > Long.MAX_VALUE / dims[i]) {
                throw new GoldenFormatException(where + ": shape " + shapeNode + " has more elements than a 64-bit"
                        + " count holds");
            }
            elements *= dims[i];
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
        if (shape.elementCount() > (Integer.MAX_VALUE - 8) / 8) {
            throw new GoldenFormatException(where + ": shape " + shape + " has " + shape.elementCount()
                    + " elements; a golden tensor is read into one array of at most " + (Integer.MAX_VALUE - 8) / 8
                    + " float64 values");
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
            throw new GoldenFormatException(where + ": missing file (or not a regular file) " + source.describe(file));
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
            return source.read(folder + file, Integer.MAX_VALUE - 8);
        } catch (IOException e) {
            throw new GoldenFormatException("golden case '" + name + "': cannot read " + source.describe(folder + file)
                    + ": " + e.getMessage(), e);
        }
    }

    /** @return an integer of {@code config} */
    public int intConfig(String key) {
        JsonNode n = config.get(key);
        if (n == null || !n.isNumber() || !n.canConvertToExactIntegral() || !n.canConvertToInt()) {
            throw new GoldenFormatException("golden case '" + name + "' (" + op + "): config needs integer '" + key
                    + "' in [" + Integer.MIN_VALUE + ", " + Integer.MAX_VALUE + "], got " + n + " (" + location() + ")");
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
        if (n == null || !n.isNumber() || !Double.isFinite(n.asDouble())) {
            throw new GoldenFormatException("golden case '" + name + "' (" + op + "): config needs a finite number '"
                    + key + "', got " + n + " (" + location() + ")");
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
