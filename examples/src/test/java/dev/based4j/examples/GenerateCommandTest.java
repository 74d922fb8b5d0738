package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {
    @TempDir
    Path dir;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Based4j.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(status, out.toString(), err.toString());
    }

    static Map<String, HostTensor> tinyWeights(long seed) {
        return LayerStack.randomWeights(BasedModel.stackConfig(BasedConfig.tiny()), seed);
    }

    static String expectedIds(int[] prompt, int n, long seed) {
        try (Backend cpu = Backends.select("cpu");
                BasedModel m = BasedModel.random(cpu, BasedConfig.tiny(), seed, DType.F32)) {
            int[] ids = new Generator(m).generate(prompt, GenerationOptions.greedy(n), null, null).tokens().get(0);
            return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
        }
    }

    @Test
    void aCheckpointInTheReleasedLayoutGeneratesThroughTheCli() {
        Checkpoint.write(dir, BasedConfig.tiny(), tinyWeights(5), StoredType.F32, 1);
        Run r = run("generate", "--model", dir.toString(), "--prompt-ids", "1,5,9", "--print-ids", "--max-tokens", "6",
                "--backend", "cpu");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo(expectedIds(new int[] {1, 5, 9}, 6, 5));
        assertThat(r.err()).contains("loading").contains("prefill: 3 tokens").contains("decode: 5 tokens")
                .contains("tokens/s");
    }

    @Test
    void theBuiltInTinyModelNeedsNoFiles() {
        Run r = run("generate", "--tiny-seed", "7", "--prompt-ids", "3,1,4,1,5", "--max-tokens", "4",
                "--backend", "cpu");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo(expectedIds(new int[] {3, 1, 4, 1, 5}, 4, 7));
    }

    @Test
    void aMissingTensorIsOneLineWithItsName() {
        Map<String, HostTensor> w = new LinkedHashMap<>(tinyWeights(5));
        w.remove("transformer.layers.1.mixer.proj_k.weight");
        Checkpoint.write(dir, BasedConfig.tiny(), w, StoredType.F32, 1);
        Run r = run("generate", "--model", dir.toString(), "--prompt-ids", "1", "--backend", "cpu");
        assertThat(r.status()).isEqualTo(Based4j.USAGE);
        assertThat(r.err()).contains("missing tensor 'transformer.layers.1.mixer.proj_k.weight'");
    }

    /** GPT-2's vocab.json for the 256 byte tokens plus end-of-text, and a merges.txt with one merge. */
    static void writeByteTokenizer(Path to) throws java.io.IOException {
        java.util.List<Integer> printable = new java.util.ArrayList<>();
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
        java.nio.file.Files.writeString(to.resolve("vocab.json"), json);
        java.nio.file.Files.writeString(to.resolve("merges.txt"), "#version: 0.2\nh e\n");
    }

    @Test
    void aTextPromptStreamsTextWithTheCheckpointsTokenizer() throws java.io.IOException {
        BasedConfig config = BasedConfig.parse(BasedConfig.tiny().toJson().replace("\"vocab_size\" : 100",
                "\"vocab_size\" : 258"));
        assertThat(config.vocabSize()).isEqualTo(258);
        Checkpoint.write(dir, config, LayerStack.randomWeights(BasedModel.stackConfig(config), 9), StoredType.F32, 1);
        writeByteTokenizer(dir);
        Run r = run("generate", "--model", dir.toString(), "--prompt", "hello", "--print-ids", "--max-tokens", "5",
                "--backend", "cpu");
        assertThat(r.status()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines[0]).startsWith("hello");
        try (Backend cpu = Backends.select("cpu");
                BasedModel m = BasedModel.random(cpu, config, 9, DType.F32)) {
            int[] prompt = {256, 'l', 'l', 'o'};
            int[] ids = new Generator(m).generate(prompt, GenerationOptions.greedy(5), null, null).tokens().get(0);
            assertThat(lines[lines.length - 1]).isEqualTo(Arrays.stream(ids).mapToObj(Integer::toString)
                    .collect(Collectors.joining(",")));
        }
    }

    @Test
    void textNeedsATokenizer() {
        Checkpoint.write(dir, BasedConfig.tiny(), tinyWeights(5), StoredType.F32, 1);
        Run r = run("generate", "--model", dir.toString(), "--prompt", "hello", "--backend", "cpu");
        assertThat(r.status()).isEqualTo(Based4j.USAGE);
        assertThat(r.err()).contains("has no tokenizer").contains("--prompt-ids");
    }
}
