package dev.based4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One safetensors file, memory-mapped read-only. Layout: an 8-byte little-endian header length {@code n}, {@code n}
 * bytes of JSON ({@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}}),
 * then the tensor data, offsets relative to its start.
 *
 * <p>The header is untrusted input. {@link #open} checks all of it before any tensor byte is read: the header length
 * is capped at {@link #MAX_HEADER_BYTES} and must fit in the file; every entry has exactly a known dtype, a shape of
 * non-negative dimensions and two offsets; its byte length equals elements × element size; sorted by offset, the
 * tensors tile the data section exactly (no overlap, no gap, nothing past the end, nothing left over), as the
 * reference implementation demands.
 *
 * <p>{@link #tensor} returns F32 data stored as F32 as a view of the mapping (no copy: the page cache holds it);
 * every other pair is converted into a new host tensor. Closing unmaps the file; views taken from it are unusable
 * afterwards (access throws {@link IllegalStateException}). Thread-safe for reading.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The largest header accepted, in bytes (the reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Element types a safetensors header may name. */
    public enum StoredType {
        /** binary64. */
        F64(8),
        /** binary32. */
        F32(4),
        /** binary16. */
        F16(2),
        /** bfloat16: the upper half of a binary32. */
        BF16(2),
        /** 8-bit float, e4m3 (not loadable as weights). */
        F8_E4M3(1),
        /** 8-bit float, e5m2 (not loadable as weights). */
        F8_E5M2(1),
        /** Signed 64-bit integer (not loadable as weights). */
        I64(8),
        /** Signed 32-bit integer (not loadable as weights). */
        I32(4),
        /** Signed 16-bit integer (not loadable as weights). */
        I16(2),
        /** Signed 8-bit integer (not loadable as weights). */
        I8(1),
        /** Unsigned 64-bit integer (not loadable as weights). */
        U64(8),
        /** Unsigned 32-bit integer (not loadable as weights). */
        U32(4),
        /** Unsigned 16-bit integer (not loadable as weights). */
        U16(2),
        /** Unsigned 8-bit integer (not loadable as weights). */
        U8(1),
        /** Boolean, one byte (not loadable as weights). */
        BOOL(1);

        private final int byteSize;

        StoredType(int byteSize) {
            this.byteSize = byteSize;
        }

        /** @return bytes per element */
        public int byteSize() {
            return byteSize;
        }

        /** @return whether {@link SafetensorsFile#tensor} can convert it to F32/F64 */
        public boolean isFloatingPoint() {
            return this == F64 || this == F32 || this == F16 || this == BF16;
        }
    }

    /**
     * One tensor of the header.
     *
     * @param name its key
     * @param dtype stored element type
     * @param shape dimensions (may contain 0, and be empty for a scalar)
     * @param offset first byte, relative to the data section
     * @param byteLength bytes
     */
    public record Entry(String name, StoredType dtype, List<Long> shape, long offset, long byteLength) {
        /** Copies the shape. */
        public Entry {
            shape = List.copyOf(shape);
        }

        /** @return the shape written as {@code [a, b]} */
        public String shapeText() {
            return shape.toString();
        }

        /** @return elements */
        public long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Maps {@code file} and checks its header.
     *
     * @throws CheckpointException naming the file (and the tensor) when it cannot be read, is truncated, or its
     *     header is malformed, too large or inconsistent with the file
     */
    public static SafetensorsFile open(Path file) {
        Objects.requireNonNull(file, "file");
        Arena arena = Arena.ofShared();
        try {
            MemorySegment all;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size < 8) {
                    throw new CheckpointException(file + ": truncated: " + size
                            + " bytes, but a safetensors file starts with an 8-byte header length");
                }
                all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (IOException e) {
                throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
            }
            long n = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0);
            if (n < 2 || n > MAX_HEADER_BYTES) {
                throw new CheckpointException(file + ": header length " + Long.toUnsignedString(n)
                        + " bytes is outside 2.." + MAX_HEADER_BYTES + " (not a safetensors file, or a corrupt one)");
            }
            if (n > all.byteSize() - 8) {
                throw new CheckpointException(file + ": truncated: the header claims " + n + " bytes but the file has "
                        + (all.byteSize() - 8) + " after the length field");
            }
            byte[] headerBytes = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = all.asSlice(8 + n);
            Header h = parseHeader(file, headerBytes, data.byteSize());
            return new SafetensorsFile(file, arena, data, h.entries, h.metadata);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private record Header(Map<String, Entry> entries, Map<String, String> metadata) {}

    private static Header parseHeader(Path file, byte[] bytes, long dataSize) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file + ": header is not valid UTF-8", e);
        }
        if (!text.startsWith("{")) {
            throw new CheckpointException(file + ": header does not start with '{' (not a safetensors file)");
        }
        JsonNode root;
        try {
            root = ConfigJson.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException(file + ": header is not a JSON object");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                metadata = parseMetadata(file, f.getValue());
            } else {
                entries.put(f.getKey(), parseEntry(file, f.getKey(), f.getValue(), dataSize));
            }
        }
        checkTiling(file, entries.values(), dataSize);
        return new Header(Collections.unmodifiableMap(entries), metadata);
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw new CheckpointException(file + ": __metadata__ must be an object of strings, got " + node.getNodeType());
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isTextual()) {
                throw new CheckpointException(file + ": __metadata__." + f.getKey() + " must be a string, got "
                        + f.getValue().getNodeType());
            }
            out.put(f.getKey(), f.getValue().asText());
        }
        return Collections.unmodifiableMap(out);
    }

    private static Entry parseEntry(Path file, String name, JsonNode node, long dataSize) {
        String where = file + ": tensor '" + name + "'";
        if (!node.isObject()) {
            throw new CheckpointException(where + ": expected an object with dtype, shape, data_offsets, got "
                    + node.getNodeType());
        }
        Set<String> keys = new java.util.TreeSet<>();
        node.fieldNames().forEachRemaining(keys::add);
        if (!keys.equals(Set.of("dtype", "shape", "data_offsets"))) {
            throw new CheckpointException(where + ": expected exactly the keys [data_offsets, dtype, shape], got " + keys);
        }
        JsonNode dt = node.get("dtype");
        StoredType type;
        try {
            type = StoredType.valueOf(dt.isTextual() ? dt.asText() : "?");
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(where + ": unknown dtype " + dt + "; expected one of "
                    + Arrays.toString(StoredType.values()), e);
        }
        JsonNode sh = node.get("shape");
        if (!sh.isArray() || sh.size() > 16) {
            throw new CheckpointException(where + ": shape must be a list of at most 16 dimensions, got " + sh);
        }
        List<Long> shape = new ArrayList<>();
        long elements = 1;
        for (JsonNode d : sh) {
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw new CheckpointException(where + ": shape dimensions must be integers in 0.." + Integer.MAX_VALUE
                        + ", got " + sh);
            }
            shape.add(d.asLong());
            try {
                elements = Math.multiplyExact(elements, d.asLong());
            } catch (ArithmeticException e) {
                throw new CheckpointException(where + ": shape " + sh + " has more elements than a long holds", e);
            }
        }
        JsonNode off = node.get("data_offsets");
        if (!off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new CheckpointException(where + ": data_offsets must be two integers [begin, end], got " + off);
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new CheckpointException(where + ": data_offsets " + off + " must satisfy 0 <= begin <= end");
        }
        if (end > dataSize) {
            throw new CheckpointException(where + ": data_offsets " + off + " end past the data section of " + dataSize
                    + " bytes (truncated file or lying header)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(elements, type.byteSize());
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + ": shape " + sh + " is too large", e);
        }
        if (end - begin != expected) {
            throw new CheckpointException(where + ": data_offsets " + off + " span " + (end - begin) + " bytes, but "
                    + type + " " + shape + " needs " + expected);
        }
        return new Entry(name, type, shape, begin, end - begin);
    }

    private static void checkTiling(Path file, java.util.Collection<Entry> entries, long dataSize) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::offset).thenComparingLong(Entry::byteLength));
        long at = 0;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.offset() < at) {
                throw new CheckpointException(file + ": tensor '" + e.name() + "' at bytes [" + e.offset() + ", "
                        + (e.offset() + e.byteLength()) + ") overlaps tensor '" + previous.name() + "' ending at " + at);
            }
            if (e.offset() > at) {
                throw new CheckpointException(file + ": tensor '" + e.name() + "' starts at byte " + e.offset()
                        + " but the previous tensor ends at " + at + "; the data section must hold the tensors without"
                        + " gaps");
            }
            at = e.offset() + e.byteLength();
            previous = e;
        }
        if (at != dataSize) {
            throw new CheckpointException(file + ": the tensors cover " + at + " bytes of data but the file holds "
                    + dataSize + " after the header (" + (dataSize - at) + " bytes unaccounted for)");
        }
    }

    /** @return the file */
    public Path path() {
        return path;
    }

    /** @return every tensor of the header, in header order */
    public Map<String, Entry> entries() {
        return entries;
    }

    /** @return the {@code __metadata__} strings (empty when absent) */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** @return bytes of tensor data */
    public long dataBytes() {
        return data.byteSize();
    }

    /**
     * The tensor {@code name} as {@code target}: a view of the mapping when it is stored as F32 and {@code target} is
     * F32, otherwise a converted copy.
     *
     * @throws CheckpointException naming the tensor when it is absent, not floating point, or has no element
     * @throws IllegalStateException when the file is closed
     */
    public HostTensor tensor(String name, DType target) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(target, "target");
        Entry e = entries.get(name);
        if (e == null) {
            throw new CheckpointException(path + ": no tensor '" + name + "'");
        }
        if (!e.dtype().isFloatingPoint()) {
            throw new CheckpointException(path + ": tensor '" + name + "' is " + e.dtype()
                    + "; weights must be F32, F64, F16 or BF16");
        }
        if (e.shape().isEmpty() || e.elementCount() == 0) {
            throw new CheckpointException(path + ": tensor '" + name + "' has shape " + e.shapeText()
                    + "; weights need at least one dimension and one element");
        }
        int[] dims = e.shape().stream().mapToInt(Long::intValue).toArray();
        Shape shape = Shape.of(dims);
        MemorySegment src = data.asSlice(e.offset(), e.byteLength());
        if (e.dtype() == StoredType.F32 && target == DType.F32) {
            return HostTensor.wrap(src, shape, DType.F32);
        }
        if (e.dtype() == StoredType.F64 && target == DType.F64) {
            return HostTensor.wrap(src, shape, DType.F64);
        }
        HostTensor out = HostTensor.allocate(shape, target);
        convert(e.dtype(), src, out);
        return out;
    }

    private static void convert(StoredType from, MemorySegment src, HostTensor out) {
        long n = out.shape().elementCount();
        MemorySegment dst = out.segment();
        ValueLayout.OfShort s16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfDouble f64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        boolean toF32 = out.dtype() == DType.F32;
        for (long i = 0; i < n; i++) {
            double v = switch (from) {
                case F64 -> src.getAtIndex(f64, i);
                case F32 -> src.getAtIndex(f32, i);
                case F16 -> Float.float16ToFloat(src.getAtIndex(s16, i));
                case BF16 -> Float.intBitsToFloat((src.getAtIndex(s16, i) & 0xFFFF) << 16);
                default -> throw new IllegalStateException("not floating point: " + from);
            };
            if (toF32) {
                dst.setAtIndex(f32, i, (float) v);
            } else {
                dst.setAtIndex(f64, i, v);
            }
        }
    }

    /** Unmaps the file. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + entries.size() + " tensors]";
    }
}
