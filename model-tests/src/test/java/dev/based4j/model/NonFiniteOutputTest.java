package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Logits that are not finite end generation with {@link NonFiniteOutputException}, which names the first stage
 * whose output is not finite: the weights of seeded random tiny models are poisoned in one place each and the
 * diagnosis must point at exactly that place.
 */
class NonFiniteOutputTest {
    private static final long SEED = 0x5EEDL;
    private static final int[] PROMPT = {3, 14, 15, 92, 65, 35};
    static Backend cpu;

    @BeforeAll
    static void setUp() {
        cpu = Backends.select("cpu");
    }

    @AfterAll
    static void tearDown() {
        cpu.close();
    }

    private static Map<String, HostTensor> weights(BasedConfig config) {
        return new LinkedHashMap<>(LayerStack.randomWeights(BasedModel.stackConfig(config), SEED));
    }

    /** Sets one element, chosen by the seed, of tensor {@code name} to {@code value}. */
    private static void poison(Map<String, HostTensor> w, String name, double value) {
        HostTensor t = w.get(name);
        assertThat(t).as("tensor %s", name).isNotNull();
        long i = new SplittableRandom(SEED).nextLong(t.shape().elementCount());
        t.setDouble(i, value);
    }

    private static NonFiniteOutputException generateFails(BasedConfig config, Map<String, HostTensor> w, DType dtype) {
        try (BasedModel m = BasedModel.fromWeights(cpu, config, WeightSource.of(w), dtype)) {
            Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(
                    () -> new Generator(m).generate(PROMPT, GenerationOptions.greedy(8), null, null));
            assertThat(thrown).as("generation with poisoned weights").isInstanceOf(NonFiniteOutputException.class);
            return (NonFiniteOutputException) thrown;
        }
    }

    @Nested
    class EachBlock {
        @Test
        void aNanInABlocksMlpIsLocatedAtThatBlock() {
            BasedConfig config = BasedConfig.tiny();
            for (int layer = 0; layer < config.layerCount(); layer++) {
                Map<String, HostTensor> w = weights(config);
                poison(w, LayerStack.LAYER_PREFIX + layer + ".mlp.fc2.weight", Double.NaN);
                NonFiniteOutputException e = generateFails(config, w, DType.F32);
                assertThat(e.layer()).as("layer of the poisoned fc2, seed %d", SEED).hasValue(layer);
                assertThat(e.position()).as("the first prompt token is already not finite").hasValue(0);
                assertThat(e.getMessage()).contains("block " + layer + " (")
                        .contains("transformer.layers." + layer + ".*");
            }
        }

        @Test
        void anInfinityInAMixerIsLocatedAndItsKindNamed() {
            BasedConfig config = BasedConfig.tiny();
            Map<String, HostTensor> w = weights(config);
            poison(w, "transformer.layers.1.mixer.proj_v.weight", Double.POSITIVE_INFINITY);
            NonFiniteOutputException e = generateFails(config, w, DType.F64);
            assertThat(e.layer()).hasValue(1);
            assertThat(e.stage()).startsWith("block 1 (linear attention");
        }
    }

    @Nested
    class OutsideTheBlocks {
        @Test
        void aNanInTheEmbeddingRowOfAPromptTokenIsLocatedAtThatToken() {
            BasedConfig config = BasedConfig.tiny();
            Map<String, HostTensor> w = weights(config);
            HostTensor table = w.get(LayerStack.EMBEDDING);
            table.setDouble((long) PROMPT[2] * config.modelDim() + 5, Double.NaN);
            NonFiniteOutputException e = generateFails(config, w, DType.F32);
            assertThat(e.layer()).isEmpty();
            assertThat(e.position()).hasValue(2);
            assertThat(e.stage()).startsWith("the token embedding");
        }

        @Test
        void aNanInTheFinalNormIsLocatedThere() {
            BasedConfig config = BasedConfig.tiny();
            Map<String, HostTensor> w = weights(config);
            poison(w, LayerStack.FINAL_NORM, Double.NaN);
            assertThat(generateFails(config, w, DType.F32).stage()).startsWith("the final norm");
        }

        @Test
        void aNanInTheTiedHeadRowOfATokenNeverFedIsLocatedAtTheHead() {
            BasedConfig config = BasedConfig.tiny();
            Map<String, HostTensor> w = weights(config);
            // token 7 is not in the prompt: its embedding is never read, but as the tied head it scores every step
            w.get(LayerStack.EMBEDDING).setDouble(7L * config.modelDim(), Double.NaN);
            NonFiniteOutputException e = generateFails(config, w, DType.F32);
            assertThat(e.stage()).startsWith("the LM head");
            assertThat(e.getMessage()).contains("logits: id 7 is NaN");
        }
    }

    @Nested
    class WhileDecoding {
        @Test
        void aTokenWhoseEmbeddingIsPoisonedFailsWhenItIsFedAndIsLocatedAtItsPosition() {
            // an untied head: a poisoned embedding row changes nothing until its token is fed back in
            BasedConfig config = BasedConfig.parse(BasedConfig.tiny().toJson()
                    .replaceAll("\"tie_word_embeddings\"\\s*:\\s*true", "\"tie_word_embeddings\": false"));
            assertThat(config.tieWordEmbeddings()).isFalse();
            Map<String, HostTensor> w = weights(config);
            int[] clean;
            try (BasedModel m = BasedModel.fromWeights(cpu, config, WeightSource.of(w), DType.F32)) {
                clean = new Generator(m).generate(PROMPT, GenerationOptions.greedy(8), null, null).tokens().get(0);
            }
            int k = 0;
            while (k < clean.length && contains(PROMPT, clean[k])) {
                k++;
            }
            org.junit.jupiter.api.Assumptions.assumeTrue(k < clean.length - 1,
                    "the greedy continuation has a token outside the prompt before its end");
            int poisoned = clean[k];
            int first = k;
            for (int j = 0; j < k; j++) {
                if (clean[j] == poisoned) {
                    first = j;
                    break;
                }
            }
            w.get(LayerStack.EMBEDDING).setDouble((long) poisoned * config.modelDim(), Double.NaN);
            NonFiniteOutputException e = generateFails(config, w, DType.F32);
            assertThat(e.stage()).startsWith("the token embedding");
            assertThat(e.position()).as("prompt %d tokens, token %d first generated at %d", PROMPT.length, poisoned,
                    first).hasValue(PROMPT.length + first);
            assertThat(e.getMessage()).contains((first + 1) + " generated");
        }

        private static boolean contains(int[] ids, int id) {
            for (int i : ids) {
                if (i == id) {
                    return true;
                }
            }
            return false;
        }
    }

    @Test
    void aFiniteModelIsLocatedNowhere() {
        try (BasedModel m = BasedModel.random(cpu, BasedConfig.tiny(), SEED, DType.F32)) {
            assertThat(m.locateNonFinite(PROMPT)).isEmpty();
            assertThatThrownBy(() -> m.locateNonFinite(new int[] {1, 999})).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("ids: id 999 at position 1");
        }
    }
}
