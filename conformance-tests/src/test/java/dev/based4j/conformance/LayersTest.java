package dev.based4j.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.conformance.testing.ReferenceBackend;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.Block;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.Mixer;
import dev.based4j.layer.RmsNorm;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.SwiGluMlp;
import dev.based4j.layer.WeightSource;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.StateSnapshot;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The layers' construction and argument checks (their numbers are checked by the catalogue's layer cases). */
class LayersTest {
    private final Backend backend = ReferenceBackend.create();

    @Nested
    class Loading {
        @Test
        void aTensorOfTheWrongShapeIsNamedWithBothShapes() {
            SlidingWindowLayer.Config c = SlidingWindowLayer.Config.of(16, 2, 4);
            Map<String, HostTensor> w = new HashMap<>(c.randomWeights(1));
            w.put("Wqkv.weight", HostTensor.allocate(Shape.of(16, 48), DType.F32));
            assertThatThrownBy(() -> SlidingWindowLayer.load(backend, DType.F32, WeightSource.of(w), c))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("weights: tensor 'Wqkv.weight' expected shape [48, 16], found [16, 48]");
        }

        @Test
        void aMissingTensorIsNamed() {
            BaseConvLayer.Config c = BaseConvLayer.Config.of(8);
            Map<String, HostTensor> w = new HashMap<>(c.randomWeights(1));
            w.remove("conv.conv.weight");
            assertThatThrownBy(() -> BaseConvLayer.load(backend, DType.F64, WeightSource.of(w), c))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'conv.conv.weight'");
        }

        @Test
        void seededWeightsAreReproducibleAndUseTheCheckpointNames() {
            LinearAttentionLayer.Config c = LinearAttentionLayer.Config.of(16, 2, 4);
            Map<String, HostTensor> a = c.randomWeights(7);
            Map<String, HostTensor> b = c.randomWeights(7);
            assertThat(a.keySet()).containsExactly("proj_q.weight", "proj_k.weight", "proj_v.weight", "out_proj.weight");
            assertThat(a.get("proj_q.weight").toDoubleArray()).containsExactly(b.get("proj_q.weight").toDoubleArray());
            assertThat(c.randomWeights(8).get("proj_q.weight").toDoubleArray())
                    .isNotEqualTo(a.get("proj_q.weight").toDoubleArray());
        }

        @Test
        void aStackUsesTheNamesOfTheReleasedCheckpoints() {
            GoldenCase tiny = GoldenSet.bundled().cases().stream().filter(g -> g.op().equals("tiny_lm")).findFirst()
                    .orElseThrow();
            Map<String, Shape> golden = tiny.tensors().values().stream().filter(t -> t.role().equals("weight"))
                    .collect(Collectors.toMap(GoldenCase.TensorSpec::name, GoldenCase.TensorSpec::shape));
            LayerStack.Config c = new LayerStack.Config(104, List.of(BaseConvLayer.Config.of(64),
                    LinearAttentionLayer.Config.of(64, 4, 16), SlidingWindowLayer.Config.of(64, 4, 4),
                    BaseConvLayer.Config.of(64), BaseConvLayer.Config.of(64)), new SwiGluMlp.Config(64, 256), 1e-5, true);
            Map<String, Shape> ours = LayerStack.randomWeights(c, 1).entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().shape()));
            assertThat(ours).isEqualTo(golden);
        }

        @Test
        void theBasedPatternInterleavesLikeTheReleasedModels() {
            LayerStack.Config c = LayerStack.Config.based(50264, 1024, 27, 16, 16, 128);
            List<Integer> linear = new java.util.ArrayList<>();
            List<Integer> window = new java.util.ArrayList<>();
            for (int i = 0; i < c.mixers().size(); i++) {
                if (c.mixers().get(i) instanceof LinearAttentionLayer.Config) {
                    linear.add(i);
                } else if (c.mixers().get(i) instanceof SlidingWindowLayer.Config) {
                    window.add(i);
                }
            }
            assertThat(linear).containsExactly(1, 6, 11, 16, 21, 26);
            assertThat(window).containsExactly(2, 7, 12, 17, 22);
            assertThat(c.mlp().hidden()).isEqualTo(2048);
        }

        @Test
        void theHiddenWidthRoundsUpToAMultipleOf256() {
            assertThat(SwiGluMlp.roundedHidden(128, 256)).isEqualTo(256);
            assertThat(SwiGluMlp.roundedHidden(2048, 256)).isEqualTo(2048);
            assertThat(SwiGluMlp.roundedHidden(3584, 256)).isEqualTo(3584);
        }
    }

    @Nested
    class Running {
        @Test
        void anInputOfAnotherWidthOrTypeIsRefused() {
            try (Mixer m = LinearAttentionLayer.Config.of(16, 2, 4).random(backend, DType.F32, 1);
                    RecurrentState st = m.newState(1);
                    Tensor wide = backend.allocate(Shape.of(1, 3, 32), DType.F32);
                    Tensor f64 = backend.allocate(Shape.of(1, 3, 16), DType.F64)) {
                assertThatThrownBy(() -> m.prefill(wide, st)).hasMessage(
                        "x: expected shape [batch, seq, d_model=16], got [1, 3, 32]");
                assertThatThrownBy(() -> m.prefill(f64, st)).hasMessageContaining("x: expected dtype f32");
            }
        }

        @Test
        void decodeTakesOneToken() {
            try (Mixer m = BaseConvLayer.Config.of(8).random(backend, DType.F64, 1);
                    RecurrentState st = m.newState(2);
                    Tensor two = backend.allocate(Shape.of(2, 2, 8), DType.F64)) {
                assertThatThrownBy(() -> m.decode(two, st)).hasMessageContaining("decode takes one token");
            }
        }

        @Test
        void aStateOfAnotherMixerIsRefused() {
            try (Mixer la = LinearAttentionLayer.Config.of(16, 2, 4).random(backend, DType.F64, 1);
                    Mixer conv = BaseConvLayer.Config.of(16).random(backend, DType.F64, 1);
                    RecurrentState convState = conv.newState(1);
                    Tensor x = backend.allocate(Shape.of(1, 3, 16), DType.F64)) {
                assertThatThrownBy(() -> la.prefill(x, convState)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("state: linear attention layer carries a LinearAttentionState");
            }
        }

        @Test
        void aClosedLayerRefusesToRun() {
            Mixer m = SlidingWindowLayer.Config.of(16, 2, 4).random(backend, DType.F64, 1);
            m.close();
            m.close();
            assertThatThrownBy(() -> m.newState(1)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }

        @Test
        void aBlockRefusesPartsOfAnotherWidth() {
            try (RmsNorm n8 = RmsNorm.random(backend, DType.F64, RmsNorm.Config.of(8), 1);
                    Mixer m = BaseConvLayer.Config.of(16).random(backend, DType.F64, 1)) {
                assertThatThrownBy(() -> new Block(n8, m, null, null)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("norm1: expected width d_model=16");
            }
        }

        @Test
        void aStackStateRestoresOnlyIntoAStackOfTheSameKinds() {
            LayerStack.Config c = LayerCases.smallStack();
            try (LayerStack stack = LayerStack.random(backend, DType.F64, c, 3);
                    LayerStack.State st = stack.newState(1)) {
                List<StateSnapshot> snaps = st.snapshots();
                assertThatThrownBy(() -> LayerStack.State.restore(stack, snaps.subList(0, 3)))
                        .hasMessageContaining("snapshots: expected 4 layer states, got 3");
                List<StateSnapshot> swapped = List.of(snaps.get(1), snaps.get(0), snaps.get(2), snaps.get(3));
                assertThatThrownBy(() -> LayerStack.State.restore(stack, swapped))
                        .hasMessageContaining("layer 0 holds a linear-attention state, expected conv");
            }
        }

        @Test
        void aStackWithoutEmbeddingTakesHiddenStates() {
            LayerStack.Config c = new LayerStack.Config(0, List.of(BaseConvLayer.Config.of(8)), null, 1e-5, true);
            try (LayerStack stack = LayerStack.random(backend, DType.F64, c, 3);
                    LayerStack.State st = stack.newState(1);
                    Tensor x = backend.upload(HostTensor.of(new double[24], Shape.of(1, 3, 8)));
                    Tensor h = stack.hidden(x, st, false)) {
                assertThat(h.shape()).isEqualTo(Shape.of(1, 3, 8));
                assertThat(st.position()).isEqualTo(3);
                assertThatThrownBy(() -> stack.prefill(new int[] {1}, 1, 1, st)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("has no embedding");
            }
        }
    }
}
