package dev.based4j.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.conformance.GoldenSet;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.HostTensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/** Writers of the crafted inputs of {@link AdversarialInputsTest}: files that lie, special files, huge sparse files. */
final class Crafted {
    static final ObjectMapper JSON = new ObjectMapper();

    private Crafted() {}

    /** A FIFO at {@code p} (opening it for reading blocks until a writer comes). */
    static Path fifo(Path p) throws IOException, InterruptedException {
        Process mk = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        if (!mk.waitFor(30, TimeUnit.SECONDS) || mk.exitValue() != 0) {
            throw new IOException("mkfifo " + p + " failed: " + new String(mk.getInputStream().readAllBytes(),
                    StandardCharsets.UTF_8));
        }
        return p;
    }

    /** A symbolic link at {@code p} to {@code /dev/zero}, a file that never ends. */
    static Path devZero(Path p) throws IOException {
        return Files.createSymbolicLink(p, Path.of("/dev/zero"));
    }

    /** A file of {@code size} bytes of which one byte is written: sparse, so it costs no disk. */
    static Path sparse(Path p, long size, byte first) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.wrap(new byte[] {first}), 0);
            ch.write(ByteBuffer.wrap(new byte[] {' '}), size - 1);
        }
        return p;
    }

    /** The tiny model's {@code config.json} as a tree to change. */
    static ObjectNode tinyConfig() throws IOException {
        return (ObjectNode) JSON.readTree(BasedConfig.tiny().toJson());
    }

    /** Writes {@code dir/config.json}. */
    static Path config(Path dir, String text) throws IOException {
        return Files.writeString(dir.resolve(Checkpoint.CONFIG_FILE), text);
    }

    /** A checkpoint in the released layout: {@code config} and seeded random weights stored as {@code stored}. */
    static Path checkpoint(Path dir, BasedConfig config, long seed, StoredType stored,
            java.util.function.Consumer<Map<String, HostTensor>> change) {
        Map<String, HostTensor> w = LayerStack.randomWeights(BasedModel.stackConfig(config), seed);
        change.accept(w);
        Checkpoint.write(dir, config, w, stored, 1);
        return dir;
    }

    /** A safetensors file with header text {@code header} and {@code dataBytes} zero bytes of data. */
    static Path safetensors(Path file, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return Files.write(file, b.array());
    }

    /**
     * @return {@code encoded} (a state file's bytes) with the first state's position replaced and the checksum
     *     recomputed, so that only the layout check can refuse it
     */
    static byte[] forgePosition(byte[] encoded, long position) {
        byte[] b = encoded.clone();
        // magic 8, version 2, count 2, kind 2: the first position starts at byte 14
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(14, position);
        CRC32C crc = new CRC32C();
        crc.update(b, 0, b.length - 4);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length - 4, (int) crc.getValue());
        return b;
    }

    /** Writes a golden case folder: {@code case.json} and files of {@code bytes} zero bytes each. */
    static Path golden(Path dir, String caseJson, Map<String, Integer> files) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("case.json"), caseJson);
        for (Map.Entry<String, Integer> f : files.entrySet()) {
            Files.write(dir.resolve(f.getKey()), new byte[f.getValue()]);
        }
        return dir;
    }

    /** Copies the bundled golden case {@code name} into {@code dir}, returning its {@code case.json} tree. */
    static ObjectNode copyBundledGolden(String name, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode c;
        try (InputStream in = GoldenSet.class.getResourceAsStream("golden/" + name + "/case.json")) {
            c = (ObjectNode) JSON.readTree(in);
        }
        Files.writeString(dir.resolve("case.json"), c.toString());
        for (Iterator<JsonNode> it = c.get("tensors").elements(); it.hasNext(); ) {
            JsonNode t = it.next();
            for (String key : new String[] {"file", "file_f64"}) {
                if (t.hasNonNull(key)) {
                    try (InputStream in = GoldenSet.class.getResourceAsStream("golden/" + name + "/"
                            + t.get(key).asText())) {
                        Files.write(dir.resolve(t.get(key).asText()), in.readAllBytes());
                    }
                }
            }
        }
        return c;
    }
}
