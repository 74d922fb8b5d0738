package dev.based4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** The golden {@code lm_tiny_b2l20} case (copied into the test resources): weights, input ids and logits. */
final class TinyGolden {
    final Map<String, HostTensor> weights = new LinkedHashMap<>();
    final int[] ids;
    final int batch;
    final int seq;
    final double[] logits;
    final BasedConfig config;

    private TinyGolden(Path dir) throws IOException {
        JsonNode c = new ObjectMapper().readTree(dir.resolve("case.json").toFile());
        config = BasedConfig.fromTinyLmCase(c.get("config").toString());
        batch = c.get("config").get("batch").asInt();
        seq = c.get("config").get("seq_len").asInt();
        JsonNode tensors = c.get("tensors");
        int[] idsRead = null;
        double[] logitsRead = null;
        for (Iterator<Map.Entry<String, JsonNode>> it = tensors.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode t = e.getValue();
            int[] dims = new int[t.get("shape").size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = t.get("shape").get(i).asInt();
            }
            switch (t.get("role").asText()) {
                case "weight" -> {
                    ByteBuffer b = read(dir.resolve(t.get("file").asText()));
                    float[] v = new float[b.remaining() / 4];
                    b.asFloatBuffer().get(v);
                    weights.put(e.getKey(), HostTensor.of(v, Shape.of(dims)));
                }
                case "input" -> {
                    ByteBuffer b = read(dir.resolve(t.get("file").asText()));
                    idsRead = new int[b.remaining() / 4];
                    b.asIntBuffer().get(idsRead);
                }
                case "output" -> {
                    ByteBuffer b = read(dir.resolve(t.get("file_f64").asText()));
                    logitsRead = new double[b.remaining() / 8];
                    b.asDoubleBuffer().get(logitsRead);
                }
                default -> throw new IllegalStateException(e.getKey());
            }
        }
        ids = idsRead;
        logits = logitsRead;
    }

    private static ByteBuffer read(Path p) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    }

    static TinyGolden load() {
        try {
            Path dir = Path.of(TinyGolden.class.getResource("/golden/lm_tiny_b2l20/case.json").toURI()).getParent();
            return new TinyGolden(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Relative error {@code max|out-ref| / max(1, max|ref|)}. */
    static double relativeError(double[] out, double[] ref) {
        double diff = 0;
        double scale = 1;
        for (int i = 0; i < ref.length; i++) {
            diff = Math.max(diff, Math.abs(out[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return diff / scale;
    }
}
