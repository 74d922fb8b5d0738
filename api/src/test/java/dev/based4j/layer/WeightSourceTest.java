package dev.based4j.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.WeightFormat;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class WeightSourceTest {
    @Nested
    class RandomWeights {
        @Test
        void madeOnDemandTheyAreTheSameAsAllAtOnce() {
            LayerStack.Config config = LayerStack.Config.based(37, 32, 6, 2, 8, 4);
            Map<String, HostTensor> all = LayerStack.randomWeights(config, 5);
            WeightSource lazy = LayerStack.randomSource(config, 5);
            // out of order, and a block asked for twice, as layers and tests may ask
            for (String name : all.keySet().stream().sorted().toList()) {
                assertThat(lazy.get(name).toFloatArray()).as("%s, seed 5", name)
                        .containsExactly(all.get(name).toFloatArray());
            }
        }

        @Test
        void anUntiedHeadToo() {
            LayerStack.Config tied = LayerStack.Config.based(11, 16, 2, 2, 4, 2);
            LayerStack.Config untied = new LayerStack.Config(11, tied.mixers(), tied.mlp(), tied.normEps(), false);
            Map<String, HostTensor> all = LayerStack.randomWeights(untied, 9);
            WeightSource lazy = LayerStack.randomSource(untied, 9);
            for (String name : all.keySet()) {
                assertThat(lazy.get(name).toFloatArray()).as(name).containsExactly(all.get(name).toFloatArray());
            }
            assertThatThrownBy(() -> lazy.get("transformer.layers.7.norm1.weight"))
                    .hasMessageContaining("'transformer.layers.7.norm1.weight'");
        }
    }

    @Nested
    class Matrices {
        HostTensor values = HostTensor.of(new double[] {1, -2, 3, 4, 5, -6, 7, 8}, Shape.of(2, 4), DType.I8);

        @Test
        void aFloatTensorIsConvertedToTheFormat() {
            Map<String, HostTensor> m = Map.of("w", HostTensor.of(new double[] {0.5, -1, 0.25, 2}, Shape.of(2, 2)));
            HostWeight w = WeightSource.of(m).weight("w", Shape.of(2, 2), WeightFormat.INT8);
            assertThat(w.format()).isEqualTo(WeightFormat.INT8);
            assertThat(w.values().toDoubleArray()).containsExactly(64, -127, 16, 127);
            assertThat(w.scales().toDoubleArray()).containsExactly((float) (1.0 / 127), (float) (2.0 / 127));
        }

        @Test
        void anInt8TensorComesWithItsScalesAndOnlyInItsFormat() {
            Map<String, HostTensor> m = new HashMap<>();
            m.put("w", values);
            m.put("w.scales", HostTensor.of(new double[] {0.5, 0.25}, Shape.of(2)));
            WeightSource source = WeightSource.of(m).prefixed("");
            assertThat(source.weight("w", Shape.of(2, 4), WeightFormat.INT8).dequantized()[1]).isEqualTo(-1);
            assertThatThrownBy(() -> source.weight("w", Shape.of(2, 4), WeightFormat.BF16))
                    .hasMessageContaining("'w' is stored as int8").hasMessageContaining("not bf16");
            assertThatThrownBy(() -> source.weight("w", Shape.of(4, 2), WeightFormat.INT8))
                    .hasMessageContaining("'w' expected shape [4, 2], found [2, 4]");
        }

        @Test
        void prefixedSourcesPassTheFullName() {
            Map<String, HostTensor> m = new HashMap<>();
            m.put("mixer.w", values);
            m.put("mixer.w.scales", HostTensor.of(new double[] {1, Double.NaN}, Shape.of(2)));
            assertThatThrownBy(() -> WeightSource.of(m).prefixed("mixer.").weight("w", Shape.of(2, 4),
                    WeightFormat.INT8)).hasMessageContaining("'mixer.w.scales' element 1 is NaN");
        }
    }
}
