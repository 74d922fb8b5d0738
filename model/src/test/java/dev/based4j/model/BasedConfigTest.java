package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.model.BasedConfig.MixerKind;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class BasedConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The config.json of the golden tiny_lm case, written as a released checkpoint would have it. */
    static final String TINY = """
            {"architectures": ["GPTLMHeadModel"], "model_type": "gpt2", "torch_dtype": "float32",
             "transformers_version": "4.35.0", "n_embd": 64, "n_layer": 5, "n_head": 4, "n_inner": 128,
             "vocab_size": 100, "pad_vocab_size_multiple": 8, "layer_norm_epsilon": 1e-5, "n_positions": 0,
             "alt_mixer_layers": [1], "alt_mixer_2_layers": [2],
             "alt_mixer": {"_target_": "based.models.mixers.linear_attention.LinearAttention", "l_max": 2048,
               "feature_dim": 16, "num_heads": 4,
               "feature_map": {"_target_": "based.models.mixers.linear_attention.TaylorExp", "input_dim": 16}},
             "alt_mixer_2": {"_target_": "based.models.mixers.slide_attention.SlidingAttention", "window_size": 8,
               "num_heads": 4, "causal": true},
             "mixer": {"_target_": "based.models.mixers.convolution.BaseConv", "l_max": 2048, "use_bias": true,
               "expand_proj": 4, "kernel_sizes": 3},
             "rms_norm": true, "activation_function": "swiglu", "rotary_emb_fraction": 1, "residual_in_fp32": true,
             "fused_mlp": false, "fused_bias_fc": true, "use_flash_attn": true, "mlp_fc1_bias": false,
             "mlp_fc2_bias": false, "qkv_proj_bias": false, "out_proj_bias": false, "attn_pdrop": 0,
             "resid_pdrop": 0, "embd_pdrop": 0, "special_initializer": true, "bos_token_id": 50256}
            """;

    static String with(String json, String key, Object value) throws Exception {
        ObjectNode o = (ObjectNode) JSON.readTree(json);
        o.set(key, JSON.valueToTree(value));
        return JSON.writeValueAsString(o);
    }

    @Nested
    class Released {
        @Test
        void based360mHasTheShapesOfTheSpec() {
            BasedConfig c = BasedConfig.based360m(256);
            assertThat(c.layersOf(MixerKind.LINEAR_ATTENTION)).containsExactly(1, 6, 11, 16, 21);
            assertThat(c.layersOf(MixerKind.SLIDING_WINDOW)).containsExactly(2, 7, 12, 17, 22);
            assertThat(c.layersOf(MixerKind.BASE_CONV)).hasSize(17);
            assertThat(c.paddedVocabSize()).isEqualTo(50264);
            assertThat(c.mlp().hidden()).isEqualTo(2048);
            assertThat(c.slidingWindow().lookback()).as("window_size 256 maps to lookback 128").isEqualTo(128);
            assertThat(c.slidingWindow().rotaryDim()).isEqualTo(64);
            assertThat(c.parameterCount()).as("about 362.6M parameters (based-math.md e)")
                    .isBetween(362_000_000L, 363_200_000L);
        }

        @Test
        void tinyGoldenConfigReadsAsTheReferenceUsedIt() {
            BasedConfig c = BasedConfig.parse(TINY);
            assertThat(c.mixers()).containsExactly(MixerKind.BASE_CONV, MixerKind.LINEAR_ATTENTION,
                    MixerKind.SLIDING_WINDOW, MixerKind.BASE_CONV, MixerKind.BASE_CONV);
            assertThat(c.paddedVocabSize()).isEqualTo(104);
            assertThat(c.mlp().hidden()).as("n_inner 128 rounded up to 256").isEqualTo(256);
            assertThat(c.slidingWindow().lookback()).isEqualTo(4);
            assertThat(c.linearAttention().eps()).isEqualTo(1e-12);
            assertThat(c.weightShapes()).containsEntry("transformer.layers.1.mixer.proj_q.weight",
                    dev.based4j.tensor.Shape.of(64, 64));
        }

        @Test
        void writesWhatItReadsBack() {
            BasedConfig c = BasedConfig.parse(TINY);
            assertThat(BasedConfig.parse(c.toJson())).isEqualTo(c);
            assertThat(BasedConfig.parse(BasedConfig.based360m(128).toJson())).isEqualTo(BasedConfig.based360m(128));
        }

        @Test
        void flaImplementationUsesTheFlaEps() throws Exception {
            ObjectNode o = (ObjectNode) JSON.readTree(TINY);
            ((ObjectNode) o.get("alt_mixer")).put("parallel_implementation", "fla_parallel");
            assertThat(BasedConfig.parse(JSON.writeValueAsString(o)).linearAttention().eps()).isEqualTo(1e-6);
        }

        @Test
        void absentKeysTakeTheReleasedValues() {
            BasedConfig c = BasedConfig.parse("""
                    {"n_embd": 64, "n_layer": 2, "n_head": 4, "alt_mixer_layers": [0],
                     "alt_mixer": {"num_heads": 4, "feature_dim": 8}, "mixer": {}}""");
            assertThat(c.vocabSize()).isEqualTo(50257);
            assertThat(c.paddedVocabSize()).isEqualTo(50264);
            assertThat(c.normEps()).isEqualTo(1e-5);
            assertThat(c.mlp().hidden()).as("int(8*64/3)=170 rounded up to 256").isEqualTo(256);
            assertThat(c.tieWordEmbeddings()).isTrue();
        }
    }

    @Nested
    class Refuses {
        @Test
        void anUnknownKeyNamingIt() throws Exception {
            assertThatThrownBy(() -> BasedConfig.parse(with(TINY, "sliding_softcap", 30)))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("sliding_softcap: unknown key");
        }

        @Test
        void anUnknownNestedKeyWithItsPath() throws Exception {
            ObjectNode o = (ObjectNode) JSON.readTree(TINY);
            ((ObjectNode) o.get("alt_mixer")).put("decay", 0.5);
            assertThatThrownBy(() -> BasedConfig.parse(JSON.writeValueAsString(o)))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("alt_mixer.decay: unknown key");
        }

        @Test
        void windowHeadsThatContradictNHead() throws Exception {
            ObjectNode o = (ObjectNode) JSON.readTree(TINY);
            ((ObjectNode) o.get("alt_mixer_2")).put("num_heads", 8);
            assertThatThrownBy(() -> BasedConfig.parse(JSON.writeValueAsString(o)))
                    .hasMessageContaining("alt_mixer_2.num_heads: 8 contradicts n_head 4");
        }

        @Test
        void aLayerInBothLists() throws Exception {
            assertThatThrownBy(() -> BasedConfig.parse(with(TINY, "alt_mixer_2_layers", List.of(1, 2))))
                    .hasMessageContaining("layers [1] are in both lists");
        }

        @Test
        void aLayerIndexOutOfRange() throws Exception {
            assertThatThrownBy(() -> BasedConfig.parse(with(TINY, "alt_mixer_layers", List.of(5))))
                    .hasMessageContaining("alt_mixer_layers: expected layer indices in [0, 5), got 5");
        }

        @Test
        void learnedPositions() throws Exception {
            assertThatThrownBy(() -> BasedConfig.parse(with(TINY, "n_positions", 2048)))
                    .hasMessageContaining("n_positions: 2048 means learned position embeddings");
        }

        @Test
        void anAliasThatContradictsItsKey() throws Exception {
            assertThatThrownBy(() -> BasedConfig.parse(with(TINY, "hidden_size", 128)))
                    .hasMessageContaining("n_embd: 64 contradicts its alias hidden_size: 128");
        }

        @Test
        void layerNormInsteadOfRmsNorm() throws Exception {
            assertThatThrownBy(() -> BasedConfig.parse(with(TINY, "rms_norm", false)))
                    .hasMessageContaining("rms_norm: expected true, got false");
        }

        @Test
        void anotherActivation() throws Exception {
            assertThatThrownBy(() -> BasedConfig.parse(with(TINY, "activation_function", "gelu_new")))
                    .hasMessageContaining("activation_function: expected 'swiglu', got 'gelu_new'");
        }

        @Test
        void aFeatureMapInputThatContradictsFeatureDim() throws Exception {
            ObjectNode o = (ObjectNode) JSON.readTree(TINY);
            ((ObjectNode) o.get("alt_mixer").get("feature_map")).put("input_dim", 8);
            assertThatThrownBy(() -> BasedConfig.parse(JSON.writeValueAsString(o)))
                    .hasMessageContaining("alt_mixer.feature_map.input_dim: 8 contradicts alt_mixer.feature_dim 16");
        }

        @Test
        void aMissingMixerSection() throws Exception {
            ObjectNode o = (ObjectNode) JSON.readTree(TINY);
            o.remove("alt_mixer_2");
            assertThatThrownBy(() -> BasedConfig.parse(JSON.writeValueAsString(o)))
                    .hasMessageContaining("alt_mixer_2: required because layers use it");
        }

        @Test
        void aDuplicateKey() {
            assertThatThrownBy(() -> BasedConfig.parse("{\"n_embd\": 64, \"n_embd\": 32}"))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("n_embd");
        }

        @Test
        void aWrongType() throws Exception {
            assertThatThrownBy(() -> BasedConfig.parse(with(TINY, "n_layer", "five")))
                    .hasMessageContaining("n_layer: expected an integer, got \"five\"");
        }
    }
}
