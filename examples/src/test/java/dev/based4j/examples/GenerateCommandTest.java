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
    void anAskedForWarmUpRunsBeforeThePromptOnAScratchStateAndChangesNoSampledToken() {
        String[] args = {"generate", "--tiny-seed", "7", "--prompt-ids", "3,1,4,1,5", "--max-tokens", "12",
                "--temperature", "0.9", "--top-k", "30", "--seed", "4", "--backend", "cpu"};
        Run cold = run(args);
        String[] withWarmUp = Arrays.copyOf(args, args.length + 1);
        withWarmUp[args.length] = "--warm-up";
        Run warm = run(withWarmUp);
        assertThat(warm.status()).as(warm.err()).isZero();
        assertThat(cold.status()).as(cold.err()).isZero();
        assertThat(warm.err()).contains("warm-up: prefill 5 tokens and 8 planned decode steps on a scratch state: ")
                .contains(" s (before the prompt)");
        assertThat(cold.err()).doesNotContain("warm-up");
        assertThat(warm.out()).isEqualTo(cold.out()).isNotBlank();
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

    @Test
    void tokensBeyondTheContextLimitAreRefusedBeforeAnythingLoads() {
        Run r = run("generate", "--tiny-seed", "1", "--prompt-ids", "1,2,3", "--max-tokens", "98", "--max-context",
                "100", "--backend", "cpu");
        assertThat(r.status()).isEqualTo(Based4j.USAGE);
        assertThat(r.err().strip()).isEqualTo("based4j: --max-tokens: 98 plus a prompt of 3 tokens exceed the context"
                + " limit of 100 tokens (--max-context); generate fewer or raise --max-context");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aTimeLimitStopsTheGenerationKeepsWhatWasGeneratedAndExitsWith124() {
        Run r = run("generate", "--tiny-seed", "7", "--prompt-ids", "3,1,4", "--max-tokens", "1000000",
                "--time-limit", "1s", "--backend", "cpu");
        assertThat(r.status()).as(r.err()).isEqualTo(Based4j.TIME_LIMIT);
        assertThat(r.err()).contains("based4j: stopped at the time limit (--time-limit 1s) after ")
                .contains("(cancelled, f32 on cpu)");
        String ids = r.out().strip();
        assertThat(ids).as("the ids generated before the stop").matches("\\d+(,\\d+)*");
        assertThat(ids).isEqualTo(expectedIds(new int[] {3, 1, 4}, ids.split(",").length, 7));
    }

    @Test
    void aCheckpointWhoseFiniteWeightsOverflowFailsNamingTheFirstBlockWhoseOutputIsNotFinite() {
        // NaN and infinite weights are refused when the file is read; finite weights can still overflow float32
        Map<String, HostTensor> w = new LinkedHashMap<>(tinyWeights(5));
        HostTensor fc1 = w.get("transformer.layers.3.mlp.fc1.weight");
        for (long i = 0; i < fc1.shape().dim(1); i++) {
            fc1.setDouble(i, i % 2 == 0 ? 3e38 : -3e38);
        }
        Checkpoint.write(dir, BasedConfig.tiny(), w, StoredType.F32, 1);
        Run r = run("generate", "--model", dir.toString(), "--prompt-ids", "1,5,9", "--backend", "cpu");
        assertThat(r.status()).isEqualTo(Based4j.CHECK_FAILED);
        assertThat(r.err().lines().filter(l -> l.startsWith("based4j:")).toList()).singleElement().asString()
                .contains("not finite").contains("block 3 (BaseConv, weights transformer.layers.3.*)")
                .doesNotContain("\tat ");
    }

    @Test
    void anUnusableTokenizerCacheFolderIsOneLineNamingItBeforeTheModelLoads() throws java.io.IOException {
        BasedConfig config = BasedConfig.parse(BasedConfig.tiny().toJson().replace("\"vocab_size\" : 100",
                "\"vocab_size\" : 258"));
        Checkpoint.write(dir, config, LayerStack.randomWeights(BasedModel.stackConfig(config), 9), StoredType.F32, 1);
        writeByteTokenizer(dir);
        Path notAFolder = java.nio.file.Files.writeString(dir.resolve("a-file"), "x");
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("ENGINE_CACHE_DIR") == null
                && System.getenv("DJL_CACHE_DIR") == null && System.getenv("RUST_LIBRARY_PATH") == null,
                "DJL's cache folder is not set in the environment");
        String before = System.getProperty("DJL_CACHE_DIR");
        System.setProperty("DJL_CACHE_DIR", notAFolder.resolve("cache").toString());
        try {
            Run r = run("generate", "--model", dir.toString(), "--prompt", "hello", "--backend", "cpu");
            assertThat(r.status()).isEqualTo(Based4j.USAGE);
            assertThat(r.err().strip()).doesNotContain("\n")
                    .startsWith("based4j: --prompt: the tokenizer's native library is unpacked into DJL's cache folder "
                            + notAFolder.resolve("cache").resolve("tokenizers") + " (DJL_CACHE_DIR)")
                    .contains(notAFolder + " is not a folder").endsWith("set DJL_CACHE_DIR to a folder that can be written");
            assertThat(r.err()).doesNotContain("loading");
        } finally {
            if (before == null) {
                System.clearProperty("DJL_CACHE_DIR");
            } else {
                System.setProperty("DJL_CACHE_DIR", before);
            }
        }
    }

    @Test
    void bf16AndInt8WeightsRunACheckpointAndSaySo() {
        Checkpoint.write(dir, BasedConfig.tiny(), tinyWeights(5), StoredType.F32, 1);
        for (String format : new String[] {"bf16", "int8"}) {
            Run r = run("generate", "--model", dir.toString(), "--prompt-ids", "1,5,9", "--print-ids", "--max-tokens",
                    "4", "--weights", format, "--backend", "cpu");
            assertThat(r.status()).as(r.err()).isZero();
            assertThat(r.out().strip()).as("%s ids", format).matches("\\d+(,\\d+){3}");
            assertThat(r.err()).contains(", f32, " + format + " weights on cpu)");
        }
    }

    @Test
    void anUnknownWeightFormatIsOneLineNamingTheOption() {
        Run r = run("generate", "--tiny-seed", "1", "--prompt-ids", "1,2", "--weights", "q4", "--backend", "cpu");
        assertThat(r.status()).isEqualTo(Based4j.USAGE);
        assertThat(r.err().strip()).startsWith("based4j: --weights: expected one of f32, f64, bf16, f16, int8")
                .endsWith("got q4 (--dtype f32)");
        Run f64 = run("generate", "--tiny-seed", "1", "--prompt-ids", "1,2", "--weights", "f32", "--dtype", "f64",
                "--backend", "cpu");
        assertThat(f64.status()).isEqualTo(Based4j.USAGE);
        assertThat(f64.err()).contains("--weights: f32 weights need f32 activations");
    }

    @Test
    void aConvertedInt8CheckpointGeneratesWhatQuantizingOnLoadGenerates() {
        Path f32 = dir.resolve("f32");
        Path int8 = dir.resolve("int8");
        Checkpoint.write(f32, BasedConfig.tiny(), tinyWeights(6), StoredType.F32, 1);
        Run convert = run("convert", "--model", f32.toString(), "--weights", "int8", "--out", int8.toString());
        assertThat(convert.status()).as(convert.err()).isZero();
        assertThat(convert.out()).contains("int8 weights");
        Run onLoad = run("generate", "--model", f32.toString(), "--weights", "int8", "--prompt-ids", "4,2",
                "--max-tokens", "8", "--backend", "cpu");
        Run saved = run("generate", "--model", int8.toString(), "--prompt-ids", "4,2", "--max-tokens", "8",
                "--backend", "cpu");
        assertThat(saved.status()).as(saved.err()).isZero();
        assertThat(saved.err()).contains("int8 weights on cpu");
        assertThat(saved.out()).isEqualTo(onLoad.out());
        Run again = run("convert", "--model", f32.toString(), "--weights", "bf16", "--out", int8.toString());
        assertThat(again.status()).isEqualTo(Based4j.USAGE);
        assertThat(again.err()).contains("is not an empty directory");
    }
}
