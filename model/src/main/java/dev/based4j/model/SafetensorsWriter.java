package dev.based4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.function.Function;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a safetensors file in the layout of the reference implementation: header length, JSON header padded with
 * spaces to a multiple of 8 bytes, then the tensors back to back in the order given. Used to save models made in
 * Java (for example random weights of a given shape), checkpoints converted to another weight format
 * ({@link Checkpoint#convert}), and by tests to write checkpoints in the released layout.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    /**
     * Writes {@code tensors} to {@code file}, each stored as {@code stored} (F32, F64, F16 or BF16; narrowing rounds
     * to nearest even).
     *
     * @param metadata strings for {@code __metadata__} (may be empty)
     * @throws IllegalArgumentException when {@code stored} is not floating point
     * @throws CheckpointException when the file cannot be written
     */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata,
            StoredType stored) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(stored, "stored");
        if (!stored.isFloatingPoint()) {
            throw new IllegalArgumentException("stored: expected F32, F64, F16 or BF16, got " + stored);
        }
        ObjectNode header = ConfigJson.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            long bytes = e.getValue().shape().elementCount() * stored.byteSize();
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", stored.name());
            var shape = t.putArray("shape");
            for (int d : e.getValue().shape().dims()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = ConfigJson.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsString(header)
                    .getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the safetensors header", e);
        }
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (HostTensor t : tensors.values()) {
                long n = t.shape().elementCount();
                for (long i = 0; i < n; i++) {
                    if (buf.remaining() < 8) {
                        out.write(buf.array(), 0, buf.position());
                        buf.clear();
                    }
                    double v = t.getDouble(i);
                    switch (stored) {
                        case F64 -> buf.putDouble(v);
                        case F32 -> buf.putFloat((float) v);
                        case F16 -> buf.putShort(Float.floatToFloat16((float) v));
                        case BF16 -> buf.putShort(toBf16((float) v));
                        default -> throw new IllegalStateException(stored.name());
                    }
                }
            }
            out.write(buf.array(), 0, buf.position());
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /**
     * A tensor to write in its own element type ({@link #writeAsStored}).
     *
     * @param name its key
     * @param dtype its element type on disk: F32, F64, BF16, F16 or I8
     * @param shape its dimensions
     */
    public record Stored(String name, DType dtype, Shape shape) {
        /** Checks the fields. */
        public Stored {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(dtype, "dtype");
            Objects.requireNonNull(shape, "shape");
        }
    }

    /**
     * Writes tensors each in its own element type, byte for byte as {@code data} holds them (nothing is converted, so
     * what is read back is exactly what was written), asking {@code data} for one tensor at a time in the order of
     * {@code layout}: a whole model never needs to be in memory at once. The header is written from the layout first.
     *
     * @param data the tensor of each entry, of its type and shape
     * @throws IllegalArgumentException when {@code data} gives a tensor of another type or shape than its entry
     * @throws CheckpointException when the file cannot be written
     */
    public static void writeAsStored(Path file, List<Stored> layout, Map<String, String> metadata,
            Function<Stored, HostTensor> data) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(data, "data");
        ObjectNode header = ConfigJson.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Stored e : layout) {
            long bytes = Math.multiplyExact(e.shape().elementCount(), (long) e.dtype().byteSize());
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", e.dtype().name());
            var shape = t.putArray("shape");
            for (int d : e.shape().dims()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = headerBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(json);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            writeFully(out, head.flip());
            for (Stored e : layout) {
                HostTensor t = data.apply(e);
                if (t == null || t.dtype() != e.dtype() || !t.shape().equals(e.shape())) {
                    throw new IllegalArgumentException("data: tensor '" + e.name() + "' expected " + e.dtype().label()
                            + " " + e.shape() + ", got " + t);
                }
                // host tensors hold little-endian elements, the byte order of the format
                writeFully(out, t.segment().asByteBuffer());
            }
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    private static byte[] headerBytes(ObjectNode header) {
        try {
            return ConfigJson.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the safetensors header", e);
        }
    }

    /** Writes F32 tensors stored as F32 with no metadata. */
    public static void write(Path file, Map<String, HostTensor> tensors) {
        write(file, tensors, Map.of(), StoredType.F32);
    }

    /** bfloat16 with round-to-nearest-even; NaN stays NaN. */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
