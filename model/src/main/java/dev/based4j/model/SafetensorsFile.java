package dev.based4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
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
 * One safetensors file, opened for reading. Layout: an 8-byte little-endian header length {@code n}, {@code n} bytes
 * of JSON ({@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}}), then the
 * tensor data, offsets relative to its start.
 *
 * <p>The header is untrusted input. {@link #open} checks all of it before any tensor byte is read: the file must be
 * a regular file; the header length is capped at {@link #MAX_HEADER_BYTES}, must fit in the file and in what the
 * heap can give; the JSON has nothing after its object; every entry has exactly a known dtype, a shape of
 * non-negative dimensions and two offsets; its byte length equals elements × element size; sorted by offset, the
 * tensors tile the data section exactly (no overlap, no gap, nothing past the end, nothing left over), as the
 * reference implementation demands.
 *
 * <p>{@link #tensor} reads a tensor into host memory this process owns (never a view of the file) and checks every
 * value: a NaN or infinite weight is refused naming the tensor and the first bad element. The bytes handed on are
 * therefore the bytes that were checked: a file that is overwritten or truncated afterwards cannot change them, and
 * a file truncated while it is being read gives a {@link CheckpointException} naming it (a memory-mapped view would
 * crash the JVM with {@link InternalError} on the first page past the new end, or silently compute with the new
 * bytes). {@link #checkUnchanged()} tells whether the file was modified since it was opened, so that a load that
 * read some tensors before and some after a rewrite is refused rather than used. Thread-safe for reading.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The largest header accepted, in bytes (the reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Heap taken by a parsed header per byte of JSON, at most: the bytes, the decoded text and the JSON tree. */
    static final long HEADER_HEAP_FACTOR = 16;

    /** Bytes read from the file at a time when a tensor is converted to another element type. */
    private static final int CHUNK_BYTES = 1 << 20;

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
        /** Signed 8-bit integer: int8 weight values, loaded with their scales. */
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
    private final FileChannel channel;
    private final long dataStart;
    private final long dataBytes;
    private final FileState opened;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    /** What identifies the content of a file: if any part changes, the file was modified. */
    private record FileState(Object key, long size, FileTime modified) {
        static FileState of(Path file) throws IOException {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return new FileState(a.fileKey(), a.size(), a.lastModifiedTime());
        }
    }

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, long dataBytes, FileState opened,
            Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.dataBytes = dataBytes;
        this.opened = opened;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Opens {@code file} and checks its header.
     *
     * @throws CheckpointException naming the file (and the tensor) when it is not a regular file, cannot be read, is
     *     truncated, or its header is malformed, too large or inconsistent with the file
     */
    public static SafetensorsFile open(Path file) {
        Objects.requireNonNull(file, "file");
        // a FIFO would block the open until a writer comes, a device would never end: refuse both before opening
        UntrustedFiles.requireRegularFile(file);
        FileChannel ch;
        FileState state;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
            state = FileState.of(file);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
        try {
            long size;
            try {
                size = ch.size();
            } catch (IOException e) {
                throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
            }
            if (size < 8) {
                throw new CheckpointException(file + ": truncated: " + size
                        + " bytes, but a safetensors file starts with an 8-byte header length");
            }
            ByteBuffer lengthField = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(file, ch, lengthField, 0, size);
            long n = lengthField.getLong(0);
            if (n < 2 || n > MAX_HEADER_BYTES) {
                throw new CheckpointException(file + ": header length " + Long.toUnsignedString(n)
                        + " bytes is outside 2.." + MAX_HEADER_BYTES + " (not a safetensors file, or a corrupt one)");
            }
            if (n > size - 8) {
                throw new CheckpointException(file + ": truncated: the header claims " + n + " bytes but the file has "
                        + (size - 8) + " after the length field");
            }
            long heap = MemoryBudget.heapBytes();
            if (n * HEADER_HEAP_FACTOR > heap) {
                throw new CheckpointException(file + ": a header of " + n + " bytes needs up to " + n * HEADER_HEAP_FACTOR
                        + " bytes of heap to parse, above the " + heap + " bytes " + MemoryBudget.heapSource());
            }
            ByteBuffer header = ByteBuffer.allocate((int) n);
            readFully(file, ch, header, 8, size);
            Header h = parseHeader(file, header.array(), size - 8 - n);
            return new SafetensorsFile(file, ch, 8 + n, size - 8 - n, state, h.entries, h.metadata);
        } catch (RuntimeException | Error e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /** Reads {@code dst.remaining()} bytes at {@code position}; the end of the file first is a truncation. */
    private static void readFully(Path file, FileChannel ch, ByteBuffer dst, long position, long sizeAtOpen) {
        long at = position;
        try {
            while (dst.hasRemaining()) {
                int n = ch.read(dst, at);
                if (n < 0) {
                    throw new CheckpointException(file + ": truncated while being read: needs bytes up to "
                            + (at + dst.remaining()) + " but the file now ends at " + ch.size() + " (it had "
                            + sizeAtOpen + " bytes when opened); the file was changed during the load");
                }
                at += n;
            }
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing was read that depends on it
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
        return dataBytes;
    }

    /**
     * Reads tensor {@code name} as {@code target} into host memory this process owns: read-only, freed by the garbage
     * collector once nothing refers to it. A tensor stored as {@code target} is read as is (for the float types a
     * chunk at a time, each chunk checked while it is in the cache); other floating-point types are converted a chunk
     * at a time, rounding to nearest even when {@code target} is narrower (bf16, f16). Every value is checked to be
     * finite, also after a narrowing conversion. An {@link StoredType#I8} tensor (int8 weight values) is read only as
     * {@link DType#I8}, byte for byte.
     *
     * @throws CheckpointException naming the file and the tensor when it is absent, neither floating point nor int8
     *     read as int8, has no element, is larger than the host-memory budget ({@link MemoryBudget}), holds a NaN or
     *     infinite value or one beyond the range of {@code target} (the first one is named with its index), or the
     *     file was truncated since it was opened
     * @throws IllegalStateException when the file is closed
     */
    public HostTensor tensor(String name, DType target) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(target, "target");
        Entry e = readable(name, target);
        HostTensor out = HostTensor.allocate(shapeOf(e), target);
        MemorySegment dst = out.segment();
        long from = dataStart + e.offset();
        long bytes = dst.byteSize();
        if (e.dtype().name().equals(target.name())) {
            // read a chunk straight into place, then check it while it is still in the cache
            for (long done = 0; done < bytes; ) {
                int n = (int) Math.min(bytes - done, CHUNK_BYTES);
                MemorySegment chunk = dst.asSlice(done, n);
                readFully(path, channel, chunk.asByteBuffer(), from + done, opened.size());
                checkFinite(e, chunk, done / target.byteSize(), target);
                done += n;
            }
        } else {
            convert(e, from, dst, target);
        }
        return HostTensor.wrap(dst.asReadOnly(), out.shape(), target);
    }

    /** @return the entry of a tensor that can be read as {@code target}, within the host-memory budget */
    private Entry readable(String name, DType target) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new CheckpointException(path + ": no tensor '" + name + "'");
        }
        boolean int8 = e.dtype() == StoredType.I8;
        if (!e.dtype().isFloatingPoint() && !int8) {
            throw new CheckpointException(path + ": tensor '" + name + "' is " + e.dtype()
                    + "; weights must be F32, F64, F16 or BF16 (or I8 values with their scales)");
        }
        if (int8 != (target == DType.I8)) {
            throw new CheckpointException(path + ": tensor '" + name + "' is " + e.dtype() + " and cannot be read as "
                    + target.label() + (int8 ? "; int8 values are read as they are, with their scales" : ""));
        }
        if (e.shape().isEmpty() || e.elementCount() == 0) {
            throw new CheckpointException(path + ": tensor '" + name + "' has shape " + e.shapeText()
                    + "; weights need at least one dimension and one element");
        }
        if (!channel.isOpen()) {
            throw new IllegalStateException(path + ": closed");
        }
        long bytes = Math.multiplyExact(e.elementCount(), (long) target.byteSize());
        long budget = MemoryBudget.hostBytes();
        if (bytes > budget) {
            throw new CheckpointException(path + ": tensor '" + name + "' " + e.shapeText() + " needs " + bytes
                    + " bytes of host memory as " + target.label() + ", above the budget of " + budget + " bytes ("
                    + MemoryBudget.hostSource() + ")");
        }
        return e;
    }

    private static Shape shapeOf(Entry e) {
        return Shape.of(e.shape().stream().mapToInt(Long::intValue).toArray());
    }

    /**
     * Reads the weight {@code name} {@code [out, in]} (stored as F32, F64, F16 or BF16) quantized to int8 a chunk of
     * rows at a time ({@link HostWeight#quantizeRun}: one scale per row, or per group of {@code groupSize} inputs),
     * so that no float copy of the whole tensor is made: the values in int8, the scales in float32.
     *
     * @throws CheckpointException naming the file and the tensor as {@link #tensor} does, or when it is not a matrix
     *     whose rows the group size divides
     */
    public HostWeight quantized(String name, int groupSize) {
        Objects.requireNonNull(name, "name");
        Entry e = readable(name, DType.F32);
        if (e.shape().size() != 2) {
            throw new CheckpointException(path + ": tensor '" + name + "' " + e.shapeText()
                    + " is not a matrix [out, in]; only matrices are quantized");
        }
        int rows = Math.toIntExact(e.shape().get(0));
        int in = Math.toIntExact(e.shape().get(1));
        if (groupSize < 0 || groupSize != 0 && in % groupSize != 0) {
            throw new CheckpointException(path + ": tensor '" + name + "' " + e.shapeText() + " has rows of " + in
                    + " inputs, which groups of " + groupSize + " do not divide");
        }
        int run = groupSize == 0 ? in : groupSize;
        int runs = in / run;
        HostTensor values = HostTensor.allocate(shapeOf(e), DType.I8);
        HostTensor scales = HostTensor.allocate(groupSize == 0 ? Shape.of(rows) : Shape.of(rows, runs), DType.F32);
        int size = e.dtype().byteSize();
        int rowsPerChunk = Math.max(1, CHUNK_BYTES / Math.max(1, in * size));
        ByteBuffer chunk = ByteBuffer.allocate(Math.multiplyExact(rowsPerChunk, in * size));
        MemorySegment src = MemorySegment.ofBuffer(chunk);
        float[] row = new float[in];
        byte[] q = new byte[in];
        long from = dataStart + e.offset();
        for (int r0 = 0; r0 < rows; r0 += rowsPerChunk) {
            int nr = Math.min(rowsPerChunk, rows - r0);
            chunk.clear().limit(nr * in * size);
            readFully(path, channel, chunk, from + (long) r0 * in * size, opened.size());
            for (int r = 0; r < nr; r++) {
                for (int i = 0; i < in; i++) {
                    double v = stored(e.dtype(), src, (long) r * in + i);
                    if (!Double.isFinite(v) || Float.isInfinite((float) v)) {
                        throw notFinite(e, (long) (r0 + r) * in + i, v, Double.isFinite(v) ? DType.F32 : null);
                    }
                    row[i] = (float) v;
                }
                for (int g = 0; g < runs; g++) {
                    float scale = HostWeight.quantizeRun(row, g * run, run, q, g * run);
                    scales.segment().setAtIndex(F32_LE, (long) (r0 + r) * runs + g, scale);
                }
                MemorySegment.copy(q, 0, values.segment(), ValueLayout.JAVA_BYTE, (long) (r0 + r) * in, in);
            }
        }
        return new HostWeight(HostTensor.wrap(values.segment().asReadOnly(), values.shape(), DType.I8),
                HostTensor.wrap(scales.segment().asReadOnly(), scales.shape(), DType.F32), groupSize);
    }

    /**
     * Checks the elements of {@code seg}, which start at element {@code first} of the tensor: a value is finite when
     * its exponent bits are not all ones, so the check reads the bits and never converts.
     */
    private void checkFinite(Entry e, MemorySegment seg, long first, DType type) {
        if (type == DType.I8) {
            return;
        }
        if (type == DType.BF16 || type == DType.F16) {
            int exponent = type == DType.BF16 ? 0x7F80 : 0x7C00;
            long n = seg.byteSize() / 2;
            for (long i = 0; i < n; i++) {
                short bits = seg.getAtIndex(S16_LE, i);
                if ((bits & exponent) == exponent) {
                    throw notFinite(e, first + i, type == DType.BF16 ? DType.fromBf16(bits)
                            : Float.float16ToFloat(bits), null);
                }
            }
        } else if (type == DType.F32) {
            long n = seg.byteSize() / 4;
            for (long i = 0; i < n; i++) {
                if ((seg.getAtIndex(I32_LE, i) & 0x7F80_0000) == 0x7F80_0000) {
                    throw notFinite(e, first + i, seg.getAtIndex(F32_LE, i), null);
                }
            }
        } else {
            long n = seg.byteSize() / 8;
            for (long i = 0; i < n; i++) {
                if ((seg.getAtIndex(I64_LE, i) & 0x7FF0_0000_0000_0000L) == 0x7FF0_0000_0000_0000L) {
                    throw notFinite(e, first + i, seg.getAtIndex(F64_LE, i), null);
                }
            }
        }
    }

    private CheckpointException notFinite(Entry e, long index, double value, DType narrowedTo) {
        StringBuilder at = new StringBuilder();
        long rest = index;
        List<Long> shape = e.shape();
        long[] coords = new long[shape.size()];
        for (int d = shape.size() - 1; d >= 0; d--) {
            coords[d] = rest % shape.get(d);
            rest /= shape.get(d);
        }
        for (long c : coords) {
            at.append(at.isEmpty() ? "[" : ", ").append(c);
        }
        at.append(']');
        return new CheckpointException(path + ": tensor '" + e.name() + "' " + e.shapeText() + " element " + at
                + " (index " + index + ") is " + value + (narrowedTo == null ? "; weights must be finite (the"
                        + " checkpoint is damaged, or the model diverged in training)"
                        : ", beyond the range of " + narrowedTo.label() + (narrowedTo == DType.F16
                                ? " (largest 65504)" : "") + "; load the weights in a wider format"));
    }

    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort S16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Element {@code i} of a chunk of stored floating-point values, widened to double (exactly). */
    private static double stored(StoredType stored, MemorySegment src, long i) {
        return switch (stored) {
            case F64 -> src.getAtIndex(F64_LE, i);
            case F32 -> src.getAtIndex(F32_LE, i);
            case F16 -> Float.float16ToFloat(src.getAtIndex(S16_LE, i));
            case BF16 -> DType.fromBf16(src.getAtIndex(S16_LE, i));
            default -> throw new IllegalStateException("not floating point: " + stored);
        };
    }

    /**
     * Reads the stored elements a chunk at a time and writes them converted to {@code target} (f64, f32, bf16 or
     * f16; narrowing rounds to nearest even), checking each: a value that is not finite, or becomes infinite in the
     * narrower type, names the tensor and the element.
     */
    private void convert(Entry e, long from, MemorySegment dst, DType target) {
        StoredType stored = e.dtype();
        int size = stored.byteSize();
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES);
        MemorySegment src = MemorySegment.ofBuffer(chunk);
        long n = e.elementCount();
        for (long first = 0; first < n; ) {
            int count = (int) Math.min(n - first, CHUNK_BYTES / size);
            chunk.clear().limit(count * size);
            readFully(path, channel, chunk, from + first * size, opened.size());
            for (int i = 0; i < count; i++) {
                double v = stored(stored, src, i);
                if (!Double.isFinite(v)) {
                    throw notFinite(e, first + i, v, null);
                }
                long at = first + i;
                boolean fits = switch (target) {
                    case F64 -> {
                        dst.setAtIndex(F64_LE, at, v);
                        yield true;
                    }
                    case F32 -> {
                        float f = (float) v;
                        dst.setAtIndex(F32_LE, at, f);
                        yield !Float.isInfinite(f);
                    }
                    case BF16 -> {
                        short bits = DType.toBf16((float) v);
                        dst.setAtIndex(S16_LE, at, bits);
                        yield Float.isFinite(DType.fromBf16(bits));
                    }
                    case F16 -> {
                        short bits = Float.floatToFloat16((float) v);
                        dst.setAtIndex(S16_LE, at, bits);
                        yield Float.isFinite(Float.float16ToFloat(bits));
                    }
                    case I8 -> throw new IllegalStateException("int8 is read as stored");
                };
                if (!fits) {
                    throw notFinite(e, at, v, target);
                }
            }
            first += count;
        }
    }

    /**
     * @throws CheckpointException naming the file when it was modified, truncated, extended or replaced since
     *     {@link #open}: tensors read before and after such a change come from different files
     */
    public void checkUnchanged() {
        FileState now;
        try {
            now = FileState.of(path);
        } catch (IOException e) {
            throw new CheckpointException(path + ": changed while it was being read: " + e.getMessage(), e);
        }
        if (!now.equals(opened)) {
            throw new CheckpointException(path + ": changed while it was being read (" + opened.size() + " bytes"
                    + " modified " + opened.modified() + " when opened, now " + now.size() + " bytes modified "
                    + now.modified() + "); the weights read mix two versions of the file, load it again");
        }
    }

    /** Closes the file. Tensors already read stay valid. Idempotent. */
    @Override
    public void close() {
        closeQuietly(channel);
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + entries.size() + " tensors]";
    }
}
