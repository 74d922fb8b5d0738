package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.model.Generator.StopReason;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    static Backend cpu;
    static BasedModel model;

    @BeforeAll
    static void setUp() {
        cpu = Backends.select("cpu");
        TinyGolden g = TinyGolden.load();
        model = BasedModel.fromWeights(cpu, g.config, WeightSource.of(g.weights), DType.F64);
    }

    @AfterAll
    static void tearDown() {
        model.close();
        cpu.close();
    }

    /** Greedy continuation computed the slow way: a full prefill of the text so far for every new token. */
    static int[] greedyByFullPrefill(int[] prompt, int n) {
        int[] text = prompt.clone();
        int v = model.config().paddedVocabSize();
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            double[] logits = model.logits(text, 1, text.length).toDoubleArray();
            int best = 0;
            int base = (text.length - 1) * v;
            for (int t = 1; t < model.config().vocabSize(); t++) {
                if (logits[base + t] > logits[base + best]) {
                    best = t;
                }
            }
            out[i] = best;
            text = BasedModelTest.concat(text, new int[] {best});
        }
        return out;
    }

    @Test
    void greedyDecodingWithTheCarriedStateEqualsFullPrefills() {
        int[] prompt = BasedModelTest.prompt(1, 7);
        Generator.Result r = new Generator(model).generate(prompt, GenerationOptions.greedy(12), null, null);
        assertThat(r.tokens().get(0)).as("prompt seed 1").containsExactly(greedyByFullPrefill(prompt, 12));
        assertThat(r.reasons()).containsExactly(StopReason.MAX_TOKENS);
        assertThat(r.prefillTokens()).isEqualTo(7);
        assertThat(r.decodeTokens()).isEqualTo(11);
    }

    @Test
    void aLongPromptIsPrefilledInChunksWithTheSameResult() {
        int[] prompt = BasedModelTest.prompt(2, Generator.PREFILL_CHUNK * 2 + 5);
        Generator.Result r = new Generator(model).generate(prompt, GenerationOptions.greedy(3), null, null);
        assertThat(r.tokens().get(0)).as("prompt seed 2").containsExactly(greedyByFullPrefill(prompt, 3));
    }

    @Test
    void promptsOfDifferentLengthsInOneBatchGiveWhatEachGivesAlone() {
        List<int[]> prompts = List.of(BasedModelTest.prompt(3, 5), BasedModelTest.prompt(4, 11),
                BasedModelTest.prompt(5, 5), BasedModelTest.prompt(6, 1));
        GenerationOptions o = GenerationOptions.greedy(9).withTemperature(0.8).withTopK(20).withTopP(0.95).withSeed(42);
        Generator g = new Generator(model);
        Generator.Result batch = g.generate(prompts, o, null, null);
        for (int i = 0; i < prompts.size(); i++) {
            Generator.Result alone = g.generate(prompts.get(i), o.withSeed(42 + i), null, null);
            assertThat(batch.tokens().get(i)).as("prompt %d (seeds 3..6, sampling seed 42)", i)
                    .containsExactly(alone.tokens().get(0));
        }
    }

    @Test
    void sameSeedSameTextOtherSeedOtherText() {
        int[] prompt = BasedModelTest.prompt(7, 4);
        // the golden weights give peaked logits (up to about 45): a high temperature makes draws matter
        GenerationOptions o = GenerationOptions.greedy(20).withTemperature(30).withSeed(7);
        Generator g = new Generator(model);
        int[] a = g.generate(prompt, o, null, null).tokens().get(0);
        assertThat(g.generate(prompt, o, null, null).tokens().get(0)).containsExactly(a);
        assertThat(g.generate(prompt, o.withSeed(8), null, null).tokens().get(0)).as("seeds 7 and 8").isNotEqualTo(a);
    }

    @Test
    void aStopTokenEndsTheSequenceAndIsKept() {
        int[] prompt = BasedModelTest.prompt(9, 6);
        int[] free = greedyByFullPrefill(prompt, 6);
        int stop = free[3];
        int firstStop = 0;
        while (free[firstStop] != stop) {
            firstStop++;
        }
        Generator.Result r = new Generator(model).generate(prompt,
                GenerationOptions.greedy(50).withStopTokens(Set.of(stop)), null, null);
        assertThat(r.tokens().get(0)).containsExactly(java.util.Arrays.copyOf(free, firstStop + 1));
        assertThat(r.reasons()).containsExactly(StopReason.STOP_TOKEN);
    }

    @Test
    void theListenerSeesEveryTokenInOrder() {
        List<String> seen = new ArrayList<>();
        List<int[]> prompts = List.of(BasedModelTest.prompt(10, 3), BasedModelTest.prompt(11, 8));
        Generator.Result r = new Generator(model).generate(prompts, GenerationOptions.greedy(4),
                (seq, token, index) -> seen.add(seq + ":" + index + ":" + token), null);
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < 4; i++) {
                assertThat(seen).contains(s + ":" + i + ":" + r.tokens().get(s)[i]);
            }
        }
        assertThat(seen).hasSize(8);
    }

    @Test
    void cancellationStopsAfterTheCurrentStep() {
        Generator.Cancellation c = new Generator.Cancellation();
        Generator.Result r = new Generator(model).generate(BasedModelTest.prompt(12, 3), GenerationOptions.greedy(100),
                (seq, token, index) -> {
                    if (index == 4) {
                        c.cancel();
                    }
                }, c);
        assertThat(r.tokens().get(0)).hasSize(5);
        assertThat(r.reasons()).containsExactly(StopReason.CANCELLED);
    }

    @Test
    void decodeStateDoesNotGrowWithGeneratedTokens() {
        try (LayerStack.State s = model.newState(1)) {
            long before = s.sizeInBytes();
            List<Long> shapes = new ArrayList<>();
            try (Tensor t = model.prefill(BasedModelTest.prompt(13, 5), 1, 5, s)) {
                assertThat(t.shape().dim(2)).isEqualTo(104);
            }
            int token = 1;
            for (int i = 0; i < 300; i++) {
                try (Tensor t = model.decode(new int[] {token}, s)) {
                    HostTensor h = cpu.download(t);
                    token = Math.floorMod((int) (h.getDouble(0) * 1000), 100);
                }
                shapes.add(s.sizeInBytes());
            }
            assertThat(s.position()).isEqualTo(305);
            assertThat(shapes).as("state bytes after each of 300 decode steps").containsOnly(before);
            for (var layer : s.layers()) {
                for (var snap : layer.snapshot().tensors()) {
                    assertThat(snap.tensor().shape().elementCount()).as("%s of %s", snap.name(), layer)
                            .isLessThan(20_000);
                }
            }
        }
    }

    @Test
    void badPromptsAreNamed() {
        Generator g = new Generator(model);
        assertThatThrownBy(() -> g.generate(List.of(new int[] {1}, new int[0]), GenerationOptions.greedy(1), null, null))
                .hasMessageContaining("prompt 1 is empty");
        assertThatThrownBy(() -> g.generate(new int[] {1, 104}, GenerationOptions.greedy(1), null, null))
                .hasMessageContaining("prompt 0 has id 104 at position 1, expected a token id in [0, 104)");
    }
}
