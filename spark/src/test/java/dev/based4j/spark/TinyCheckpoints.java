package dev.based4j.spark;

import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.model.SafetensorsFile.StoredType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

/**
 * Tiny seeded checkpoint folders in the released layout under {@code target/}, where executor JVMs can read them
 * by path: the golden {@code tiny_lm} shape with vocabulary 100 (prompts as ids), and the same with vocabulary 258
 * and a byte-level GPT-2 tokenizer (prompts as text).
 */
final class TinyCheckpoints {
    /** Seed of the weights. */
    static final long WEIGHT_SEED = 7;

    private static final Path ROOT = Path.of("target", "tiny-models").toAbsolutePath();

    private TinyCheckpoints() {}

    /** @return the folder of the vocabulary-100 model without tokenizer, written once per JVM */
    static synchronized Path ids() {
        Path dir = ROOT.resolve("tiny-ids");
        if (!Files.isRegularFile(dir.resolve(Checkpoint.WEIGHTS_FILE))) {
            write(dir, BasedConfig.tiny());
        }
        return dir;
    }

    /** @return the folder of the vocabulary-258 model with {@code vocab.json} + {@code merges.txt} */
    static synchronized Path text() {
        Path dir = ROOT.resolve("tiny-text");
        if (!Files.isRegularFile(dir.resolve(Checkpoint.WEIGHTS_FILE))) {
            write(dir, textConfig());
            writeByteTokenizer(dir);
        }
        return dir;
    }

    /** @return the tiny shape with the 256 byte tokens, one merge ("he") and end-of-text (257) */
    static BasedConfig textConfig() {
        return BasedConfig.parse(BasedConfig.tiny().toJson().replace("\"vocab_size\" : 100", "\"vocab_size\" : 258"));
    }

    /** @return {@code count} prompts of lengths 1..{@code maxLength} with ids in {@code [0, vocab)} */
    static List<int[]> randomPrompts(long seed, int count, int maxLength, int vocab) {
        Random r = new Random(seed);
        return java.util.stream.IntStream.range(0, count)
                .mapToObj(i -> r.ints(1 + r.nextInt(maxLength), 0, vocab).toArray()).toList();
    }

    private static void write(Path dir, BasedConfig config) {
        Checkpoint.write(dir, config, LayerStack.randomWeights(BasedModel.stackConfig(config), WEIGHT_SEED),
                StoredType.F32, 1);
    }

    /** GPT-2's vocab.json for the 256 byte tokens, "he" and end-of-text, and a merges.txt with that one merge. */
    private static void writeByteTokenizer(Path to) {
        List<Integer> printable = new java.util.ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            printable.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable.add(b);
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        int n = 0;
        for (int b = 0; b < 256; b++) {
            vocab.put(Character.toString(printable.contains(b) ? b : 256 + n++), b);
        }
        vocab.put("he", 256);
        vocab.put("<|endoftext|>", 257);
        String json = vocab.entrySet().stream()
                .map(e -> "\"" + e.getKey().replace("\\", "\\\\").replace("\"", "\\\"") + "\": " + e.getValue())
                .collect(Collectors.joining(", ", "{", "}"));
        try {
            Files.writeString(to.resolve("vocab.json"), json);
            Files.writeString(to.resolve("merges.txt"), "#version: 0.2\nh e\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
