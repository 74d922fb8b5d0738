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
import dev.based4j.spi.Backend;
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

    @Test
    void textNeedsATokenizer() {
        Checkpoint.write(dir, BasedConfig.tiny(), tinyWeights(5), StoredType.F32, 1);
        Run r = run("generate", "--model", dir.toString(), "--prompt", "hello", "--backend", "cpu");
        assertThat(r.status()).isEqualTo(Based4j.USAGE);
        assertThat(r.err()).contains("has no tokenizer").contains("--prompt-ids");
    }
}
