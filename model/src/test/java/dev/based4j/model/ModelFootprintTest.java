package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** What a configuration allocates, in closed form, against what the model really builds. */
class ModelFootprintTest {
    private static BasedConfig withBiasesAndUntiedHead() {
        return BasedConfig.parse("""
                {"n_embd": 48, "n_layer": 4, "n_head": 3, "n_inner": 100, "vocab_size": 77,
                 "pad_vocab_size_multiple": 16, "alt_mixer_layers": [0], "alt_mixer_2_layers": [2, 3],
                 "alt_mixer": {"feature_dim": 8, "num_heads": 2, "head_dim": 20}, "alt_mixer_2": {"window_size": 10},
                 "mixer": {"expand_proj": 2, "kernel_size": 4}, "qkv_proj_bias": true, "out_proj_bias": true,
                 "tie_word_embeddings": false}
                """);
    }

    @Nested
    class Weights {
        @Test
        void countEveryElementAndTensorTheModelReads() {
            for (BasedConfig c : new BasedConfig[] {BasedConfig.tiny(), BasedConfig.based360m(256),
                    withBiasesAndUntiedHead()}) {
                ModelFootprint f = ModelFootprint.of(c);
                assertThat(f.weightElements()).as("weights of %s", c)
                        .isEqualTo(c.weightShapes().values().stream().mapToLong(Shape::elementCount).sum());
                assertThat(f.weightTensors()).as("tensors").isEqualTo(c.weightShapes().size());
                assertThat(f.largestWeightElements()).as("largest tensor")
                        .isEqualTo(c.weightShapes().values().stream().mapToLong(Shape::elementCount).max()
                                .orElseThrow());
            }
        }
    }

    @Nested
    class Budget {
        @Test
        void aModelAboveTheBudgetIsRefusedWithItsKeysBytesAndTheLimit() {
            String before = System.getProperty(MemoryBudget.HOST_MEMORY.property());
            System.setProperty(MemoryBudget.HOST_MEMORY.property(), "1m");
            try {
                assertThatThrownBy(() -> ModelFootprint.of(BasedConfig.tiny()).requireFits("dir/config.json",
                        BasedConfig.tiny(), DType.F32, 1, 100_000))
                        .isInstanceOf(CheckpointException.class)
                        .hasMessageContaining("dir/config.json: the model needs")
                        .hasMessageContaining("the activations of 100000 tokens")
                        .hasMessageContaining("logits over vocab_size 104")
                        .hasMessageContaining("above the host-memory budget of 1,048,576 bytes");
            } finally {
                if (before == null) {
                    System.clearProperty(MemoryBudget.HOST_MEMORY.property());
                } else {
                    System.setProperty(MemoryBudget.HOST_MEMORY.property(), before);
                }
            }
        }

        @Test
        void sizesAcceptUnitSuffixes() {
            assertThat(MemoryBudget.parseSize("8g")).isEqualTo(8L << 30);
            assertThat(MemoryBudget.parseSize(" 512M ")).isEqualTo(512L << 20);
            assertThat(MemoryBudget.parseSize("12345")).isEqualTo(12345);
            assertThatThrownBy(() -> MemoryBudget.parseSize("-1g")).hasMessageContaining("based4j.model.hostMemory");
            assertThatThrownBy(() -> MemoryBudget.parseSize("99999999999t")).hasMessageContaining("expected a size");
        }
    }
}
