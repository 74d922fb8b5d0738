package dev.based4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.HostTensor;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a safetensors file in the layout of the reference implementation: header length, JSON header padded with
 * spaces to a multiple of 8 bytes, then the tensors back to back in the order given. Used to save models made in
 * Java (for example random weights of a given shape) and by tests to write checkpoints in the released layout.
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
