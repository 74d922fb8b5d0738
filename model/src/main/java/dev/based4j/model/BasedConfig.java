package dev.based4j.model;

import dev.based4j.attention.BaseConvSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.tensor.Shape;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.SequencedMap;

/**
 * The architecture of a BASED language model ({@code based-math.md} e), as read from a Hugging Face
 * {@code config.json} by {@link #read(Path)} / {@link #parse(String)}.
 *
 * <h2>Keys that are read</h2>
 * An absent key takes the value of the released BASED configs (second column). For the keys marked *, that differs
 * from the default of {@code GPT2Config}/the original code's {@code getattr}, which describes another model
 * (learned positions, LayerNorm, GELU MLP, biases); a config that relies on those defaults is refused by the
 * shape check of its weights, with a message that names the tensor.
 * <table>
 * <caption>config.json keys</caption>
 * <tr><th>key</th><th>absent means</th><th>accepted</th></tr>
 * <tr><td>{@code n_embd} (alias {@code hidden_size})</td><td>required</td><td>divisible by {@code n_head}</td></tr>
 * <tr><td>{@code n_layer} (alias {@code num_hidden_layers})</td><td>required</td><td>1..{@value #MAX_LAYERS}</td></tr>
 * <tr><td>{@code n_head} (alias {@code num_attention_heads})</td><td>required</td><td>heads of the sliding-window
 *     layers</td></tr>
 * <tr><td>{@code n_inner}</td><td>{@code int(8·n_embd/3)}</td><td>MLP width, rounded up to a multiple of 256</td></tr>
 * <tr><td>{@code vocab_size}</td><td>50257</td><td>≥ 1</td></tr>
 * <tr><td>{@code pad_vocab_size_multiple}</td><td>8 *</td><td>≥ 1; embedding rows = vocab rounded up</td></tr>
 * <tr><td>{@code layer_norm_epsilon}</td><td>1e-5</td><td>&gt; 0</td></tr>
 * <tr><td>{@code alt_mixer_layers}, {@code alt_mixer_2_layers}</td><td>none</td><td>disjoint indices in
 *     {@code [0, n_layer)}: linear attention and sliding window; every other layer is BaseConv</td></tr>
 * <tr><td>{@code alt_mixer.num_heads}, {@code .feature_dim}, {@code .head_dim}</td><td>16, 16, n_embd/num_heads</td>
 *     <td></td></tr>
 * <tr><td>{@code alt_mixer.feature_map}</td><td>TaylorExp</td><td>{@code _target_} TaylorExp with
 *     {@code input_dim} = {@code feature_dim}</td></tr>
 * <tr><td>{@code alt_mixer.parallel_implementation}</td><td>quadratic</td><td>quadratic, linear (eps 1e-12);
 *     fla_parallel, fla_chunk (eps 1e-6, as the original FLA kernels); {@code alt_mixer.eps} overrides</td></tr>
 * <tr><td>{@code alt_mixer_2.window_size}</td><td>128</td><td>W ≥ 0 with {@code W/2 ≤ }{@value #MAX_LOOKBACK}, mapped to
 *     {@code lookback = W/2}</td></tr>
 * <tr><td>{@code alt_mixer_2.num_heads}</td><td>n_head</td><td>must equal {@code n_head} (the original code
 *     overrides it with {@code n_head})</td></tr>
 * <tr><td>{@code rotary_emb_fraction}, {@code rotary_emb_base}</td><td>1 *, 10000</td><td>rotary dimension =
 *     int(fraction·head_dim), rounded down to even</td></tr>
 * <tr><td>{@code mixer.expand_proj}, {@code .kernel_size}</td><td>4 *, 3</td><td>BaseConv;
 *     {@code kernel_sizes} is read by nobody (the original constructor takes {@code kernel_size})</td></tr>
 * <tr><td>{@code qkv_proj_bias}, {@code out_proj_bias}</td><td>false *</td><td>true or false (window layers)</td></tr>
 * <tr><td>{@code mixer.use_bias}; {@code mlp_fc1_bias}, {@code mlp_fc2_bias}</td><td>true; false *</td><td>only
 *     these (the released BaseConv has biases, the released MLP none)</td></tr>
 * <tr><td>{@code scale_attn_weights}, {@code scale_attn_by_inverse_layer_idx}</td><td>true, false</td>
 *     <td>true or false</td></tr>
 * <tr><td>{@code tie_word_embeddings}</td><td>true</td><td>false reads {@code lm_head.weight}</td></tr>
 * <tr><td>{@code eos_token_id}</td><td>none</td><td>the default stop token of generation</td></tr>
 * <tr><td>{@code rms_norm}, {@code activation_function}, {@code mlp_type}</td><td>true *, swiglu *, base</td>
 *     <td>only these</td></tr>
 * <tr><td>{@code n_positions} (alias {@code max_position_embeddings})</td><td>0 *</td><td>only 0 (BASED has no
 *     learned positions)</td></tr>
 * <tr><td>{@code prenorm}, {@code parallel_block}, {@code fused_mlp}, {@code fused_dense_sqrelu_dense},
 *     {@code rotary_emb_interleaved}, {@code rotary_emb_scale_base}, {@code word_embed_proj_dim},
 *     {@code lm_head_bias}, {@code n_head_kv}, {@code head_dim}</td><td>the released value</td><td>only the
 *     released value (true, false, false, false, false, null, null, false, n_head, n_embd/n_head)</td></tr>
 * </table>
 *
 * <h2>Keys that are ignored</h2>
 * Bookkeeping and options that do not change what inference computes: {@value #IGNORED_KEYS_TEXT}. Inside
 * {@code alt_mixer}, {@code alt_mixer_2}, {@code mixer}: {@code _target_} (checked to name the expected class),
 * {@code l_max}, {@code layer_idx}; {@code kernel_sizes} in {@code mixer}; {@code causal} in {@code alt_mixer_2}
 * (must be true). Any other key is an error that names it.
 *
 * <h2>Strictness</h2>
 * The file is one JSON object and nothing after it; duplicate keys are refused; integers must be exact and fit an
 * int ({@code 4294967297} is refused, never read as 1; {@code 1} and {@code 0} are the only numbers read as
 * booleans); every derived weight dimension ({@code 3·n_embd}, {@code expand_proj·n_embd},
 * {@code 2·n_inner}, the padded vocabulary, {@code num_heads·feature_dim}, ...) must fit an int and the model's
 * element counts a long. What the model then needs in memory is checked against the budget when it is loaded
 * ({@link BasedModel#load}), before anything is allocated.
 *
 * @param modelDim {@code n_embd}, D
 * @param layerCount {@code n_layer}
 * @param vocabSize the tokenizer's vocabulary, {@code vocab_size}
 * @param paddedVocabSize rows of the embedding and of the logits: vocab rounded up to {@code pad_vocab_size_multiple}
 * @param normEps RMSNorm eps
 * @param mixers the mixer of each layer
 * @param mlp the SwiGLU MLP of every block
 * @param linearAttention the linear-attention layers ({@code alt_mixer})
 * @param slidingWindow the sliding-window layers ({@code alt_mixer_2})
 * @param baseConv the BaseConv layers ({@code mixer})
 * @param tieWordEmbeddings whether the LM head is the embedding table
 * @param eosTokenId end-of-sequence id, the default stop token
 */
public record BasedConfig(
        int modelDim,
        int layerCount,
        int vocabSize,
        int paddedVocabSize,
        double normEps,
        List<MixerKind> mixers,
        Mlp mlp,
        LinearAttention linearAttention,
        SlidingWindow slidingWindow,
        BaseConv baseConv,
        boolean tieWordEmbeddings,
        OptionalInt eosTokenId) {

    /** The most layers a configuration may have: more could not be described by a checkpoint anyone can load. */
    public static final int MAX_LAYERS = 1 << 16;

    /** The longest window lookback: a window state rings {@code lookback + 1} tokens, at most 2²⁴. */
    public static final int MAX_LOOKBACK = (1 << 24) - 1;

    /** Top-level keys that {@link #parse} accepts and ignores, comma-separated. */
    public static final String IGNORED_KEYS_TEXT = "architectures, torch_dtype, transformers_version, _name_or_path, "
            + "model_type, _target_, _recursive_, bos_token_id, pad_token_id, use_cache, initializer_range, "
            + "special_initializer, use_weight_init, attn_pdrop, embd_pdrop, resid_pdrop, summary_activation, "
            + "summary_first_dropout, summary_proj_to_labels, summary_type, summary_use_proj, use_flash_attn, "
            + "fused_bias_fc, fused_dropout_add_ln, residual_in_fp32, reorder_and_upcast_attn, sequence_parallel, "
            + "mlp_checkpoint_lvl, n_ctx, task_specific_params, return_dict, output_hidden_states, "
            + "output_attentions, torchscript, tokenizer_class, id2label, label2id, problem_type, auto_map, "
            + "attn_dwconv, fixed_decay, decay_const, decay_denom";

    /** The mixer of one block. */
    public enum MixerKind {
        /** Gated short convolution ({@code mixer}). */
        BASE_CONV,
        /** Taylor linear attention ({@code alt_mixer}). */
        LINEAR_ATTENTION,
        /** Sliding-window softmax attention with rotary ({@code alt_mixer_2}). */
        SLIDING_WINDOW
    }

    /**
     * The SwiGLU MLP: {@code fc1 [2·hidden, D]}, {@code fc2 [D, hidden]}, {@code y = fc2(a ⊙ silu(g))} with
     * {@code [a | g] = fc1(x)}.
     *
     * @param hidden width after the round-up to a multiple of 256
     */
    public record Mlp(int hidden) {
        /** Validates the width. */
        public Mlp {
            positive("mlp.hidden", hidden);
        }
    }

    /**
     * Linear-attention layers: {@code proj_q, proj_k [heads·featureDim, D]}, {@code proj_v [heads·headDim, D]},
     * {@code out_proj [D, heads·headDim]}, no biases.
     *
     * @param heads {@code alt_mixer.num_heads}
     * @param featureDim f, the Taylor map's input dimension
     * @param headDim value dimension per head
     * @param eps normaliser eps
     */
    public record LinearAttention(int heads, int featureDim, int headDim, double eps) {
        /** Validates every field. */
        public LinearAttention {
            positive("alt_mixer.num_heads", heads);
            positive("alt_mixer.feature_dim", featureDim);
            positive("alt_mixer.head_dim", headDim);
            if (!(eps >= 0) || Double.isInfinite(eps)) {
                throw new IllegalArgumentException("alt_mixer.eps: expected a finite value >= 0, got " + eps);
            }
        }

        /** @return the kernel spec: Taylor map of {@code featureDim}, this eps, automatic prefill */
        public LinearAttentionSpec spec() {
            return new LinearAttentionSpec(new Taylor(featureDim), eps, PrefillAlgorithm.AUTO,
                    LinearAttentionSpec.DEFAULT_CHUNK, false);
        }
    }

    /**
     * Sliding-window layers: {@code Wqkv [3D, D]} (q, k, v of all heads, head-major), rotary on q and k,
     * {@code out_proj [D, D]}.
     *
     * @param heads {@code n_head}
     * @param headDim {@code D / heads}
     * @param windowSize the configured {@code window_size W}
     * @param lookback {@code W/2} previous tokens each query sees besides itself
     * @param rotaryDim rotated dimensions per head (0 = no rotary), even
     * @param rotaryBase rotary base
     * @param qkvBias whether {@code Wqkv} has a bias
     * @param outBias whether {@code out_proj} has a bias
     * @param scaleByHeadDim softmax scale {@code 1/√headDim} ({@code scale_attn_weights}), else 1
     * @param scaleByInverseLayer the scale is further divided by {@code layer + 1}
     */
    public record SlidingWindow(int heads, int headDim, int windowSize, int lookback, int rotaryDim,
            double rotaryBase, boolean qkvBias, boolean outBias, boolean scaleByHeadDim, boolean scaleByInverseLayer) {
        /** Validates every field. */
        public SlidingWindow {
            positive("n_head", heads);
            positive("head_dim", headDim);
            if (windowSize < 0 || windowSize / 2 > MAX_LOOKBACK) {
                throw new IllegalArgumentException("alt_mixer_2.window_size: expected 0.." + (2 * MAX_LOOKBACK + 1)
                        + ", got " + windowSize);
            }
            if (lookback != windowSize / 2) {
                throw new IllegalArgumentException("lookback: expected window_size/2 = " + windowSize / 2 + ", got "
                        + lookback);
            }
            if (rotaryDim < 0 || rotaryDim > headDim || rotaryDim % 2 != 0) {
                throw new IllegalArgumentException("rotary dimension: expected an even value in 0.." + headDim
                        + ", got " + rotaryDim);
            }
            if (!(rotaryBase > 1) || Double.isInfinite(rotaryBase)) {
                throw new IllegalArgumentException("rotary_emb_base: expected a finite value > 1, got " + rotaryBase);
            }
        }

        /** @return the kernel spec of layer {@code layer} (its scale may depend on the index) */
        public SlidingWindowSpec spec(int layer) {
            double scale = scaleByHeadDim ? 1.0 / Math.sqrt(headDim) : 1.0;
            if (scaleByInverseLayer) {
                scale /= layer + 1;
            }
            return new SlidingWindowSpec(lookback, OptionalDouble.of(scale));
        }
    }

    /**
     * BaseConv layers: {@code in_proj [expandProj·D, D]} with bias, {@code conv.conv [innerDim, 1, kernelSize]},
     * {@code out_proj [D, innerDim]} with bias, {@code innerDim = expandProj·D/2}.
     *
     * @param expandProj {@code mixer.expand_proj}
     * @param kernelSize taps of the causal depthwise convolution
     */
    public record BaseConv(int expandProj, int kernelSize) {
        /** Validates every field. */
        public BaseConv {
            positive("mixer.expand_proj", expandProj);
            if (kernelSize < 1 || kernelSize > 64) {
                throw new IllegalArgumentException("mixer.kernel_size: expected 1..64, got " + kernelSize);
            }
        }

        /** @return the spec for model width {@code modelDim} */
        public BaseConvSpec spec(int modelDim) {
            return new BaseConvSpec(modelDim, expandProj * modelDim / 2, kernelSize);
        }
    }

    /** Validates every field and their consistency. */
    public BasedConfig {
        positive("n_embd", modelDim);
        positive("n_layer", layerCount);
        if (layerCount > MAX_LAYERS) {
            throw new IllegalArgumentException("n_layer: expected at most " + MAX_LAYERS + ", got " + layerCount);
        }
        positive("vocab_size", vocabSize);
        if (paddedVocabSize < vocabSize) {
            throw new IllegalArgumentException("paddedVocabSize: expected >= vocab_size " + vocabSize + ", got "
                    + paddedVocabSize);
        }
        if (!(normEps > 0) || Double.isInfinite(normEps)) {
            throw new IllegalArgumentException("layer_norm_epsilon: expected a finite value > 0, got " + normEps);
        }
        Objects.requireNonNull(mixers, "mixers");
        mixers = List.copyOf(mixers);
        if (mixers.size() != layerCount) {
            throw new IllegalArgumentException("mixers: expected one per layer (" + layerCount + "), got "
                    + mixers.size());
        }
        Objects.requireNonNull(mlp, "mlp");
        Objects.requireNonNull(linearAttention, "linearAttention");
        Objects.requireNonNull(slidingWindow, "slidingWindow");
        Objects.requireNonNull(baseConv, "baseConv");
        Objects.requireNonNull(eosTokenId, "eosTokenId");
        if (slidingWindow.heads() * slidingWindow.headDim() != modelDim) {
            throw new IllegalArgumentException("n_head: " + slidingWindow.heads() + " heads of " + slidingWindow.headDim()
                    + " do not make n_embd " + modelDim);
        }
        if (3L * modelDim > Integer.MAX_VALUE || (long) baseConv.expandProj() * modelDim > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("n_embd: " + modelDim + " with mixer.expand_proj " + baseConv.expandProj()
                    + " makes a weight dimension (3·n_embd or expand_proj·n_embd) above " + Integer.MAX_VALUE);
        }
        if (baseConv.expandProj() * modelDim % 2 != 0) {
            throw new IllegalArgumentException("mixer.expand_proj: expand_proj·n_embd must be even, got "
                    + baseConv.expandProj() + "·" + modelDim);
        }
        if (eosTokenId.isPresent() && (eosTokenId.getAsInt() < 0 || eosTokenId.getAsInt() >= paddedVocabSize)) {
            throw new IllegalArgumentException("eos_token_id: expected a token id in [0, " + paddedVocabSize
                    + "), got " + eosTokenId.getAsInt());
        }
    }

    /** @return the mixer of layer {@code layer} */
    public MixerKind mixer(int layer) {
        return mixers.get(layer);
    }

    /** @return indices of the layers with mixer {@code kind}, ascending */
    public List<Integer> layersOf(MixerKind kind) {
        return java.util.stream.IntStream.range(0, layerCount).filter(i -> mixers.get(i) == kind).boxed().toList();
    }

    /**
     * Reads {@code config.json}.
     *
     * @throws CheckpointException naming the file and the key when it is unreadable, unknown or contradictory
     */
    public static BasedConfig read(Path configJson) {
        Objects.requireNonNull(configJson, "configJson");
        String text = UntrustedFiles.readText(configJson, UntrustedFiles.CONFIG_LIMIT);
        try {
            return ConfigJson.parse(text);
        } catch (CheckpointException e) {
            throw new CheckpointException(configJson + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses the text of a {@code config.json}.
     *
     * @throws CheckpointException naming the key when it is unknown, has the wrong type, or contradicts another
     */
    public static BasedConfig parse(String json) {
        Objects.requireNonNull(json, "json");
        return ConfigJson.parse(json);
    }

    /** @return a {@code config.json} in the layout of the released checkpoints that {@link #parse} reads back */
    public String toJson() {
        return ConfigJson.write(this);
    }

    /**
     * The architecture of the released based-360m: 27 layers of width 1024, linear attention at 1, 6, 11, 16, 21
     * (16 heads, feature dim 16), sliding window at 2, 7, 12, 17, 22 (16 heads, the given window size), BaseConv
     * elsewhere, MLP 2048, vocabulary 50257 padded to 50264.
     *
     * @param windowSize {@code window_size W} (256 in the reference config, 128 in the example config)
     */
    public static BasedConfig based360m(int windowSize) {
        return parse("""
                {"n_embd": 1024, "n_layer": 27, "n_head": 16, "n_inner": 2048, "vocab_size": 50257,
                 "pad_vocab_size_multiple": 8, "alt_mixer_layers": [1, 6, 11, 16, 21],
                 "alt_mixer_2_layers": [2, 7, 12, 17, 22],
                 "alt_mixer": {"_target_": "based.models.mixers.linear_attention.LinearAttention",
                   "feature_dim": 16, "num_heads": 16,
                   "feature_map": {"_target_": "based.models.mixers.linear_attention.TaylorExp", "input_dim": 16}},
                 "alt_mixer_2": {"_target_": "based.models.mixers.slide_attention.SlidingAttention",
                   "window_size": %d, "num_heads": 16, "causal": true},
                 "mixer": {"_target_": "based.models.mixers.convolution.BaseConv", "use_bias": true,
                   "expand_proj": 4, "kernel_sizes": 3},
                 "rms_norm": true, "activation_function": "swiglu", "rotary_emb_fraction": 1,
                 "n_positions": 0, "mlp_fc1_bias": false, "mlp_fc2_bias": false,
                 "qkv_proj_bias": false, "out_proj_bias": false, "eos_token_id": 50256}
                """.formatted(windowSize));
    }

    /**
     * Every weight the model reads, by its released checkpoint name, with its shape ({@code based-math.md} e):
     * the embedding, per layer {@code norm1}, the mixer, {@code norm2} and the MLP, then {@code ln_f}, and
     * {@code lm_head.weight} only when the head is not tied.
     *
     * @return an ordered map from name to shape
     */
    public SequencedMap<String, Shape> weightShapes() {
        LinkedHashMap<String, Shape> m = new LinkedHashMap<>();
        int d = modelDim;
        m.put("transformer.embeddings.word_embeddings.weight", Shape.of(paddedVocabSize, d));
        for (int i = 0; i < layerCount; i++) {
            String p = "transformer.layers." + i + ".";
            switch (mixers.get(i)) {
                case LINEAR_ATTENTION -> {
                    int hf = linearAttention.heads() * linearAttention.featureDim();
                    int hv = linearAttention.heads() * linearAttention.headDim();
                    m.put(p + "mixer.proj_q.weight", Shape.of(hf, d));
                    m.put(p + "mixer.proj_k.weight", Shape.of(hf, d));
                    m.put(p + "mixer.proj_v.weight", Shape.of(hv, d));
                    m.put(p + "mixer.out_proj.weight", Shape.of(d, hv));
                }
                case SLIDING_WINDOW -> {
                    m.put(p + "mixer.Wqkv.weight", Shape.of(3 * d, d));
                    if (slidingWindow.qkvBias()) {
                        m.put(p + "mixer.Wqkv.bias", Shape.of(3 * d));
                    }
                    m.put(p + "mixer.out_proj.weight", Shape.of(d, d));
                    if (slidingWindow.outBias()) {
                        m.put(p + "mixer.out_proj.bias", Shape.of(d));
                    }
                }
                case BASE_CONV -> {
                    int inner = baseConv.expandProj() * d / 2;
                    m.put(p + "mixer.in_proj.weight", Shape.of(2 * inner, d));
                    m.put(p + "mixer.in_proj.bias", Shape.of(2 * inner));
                    m.put(p + "mixer.conv.conv.weight", Shape.of(inner, 1, baseConv.kernelSize()));
                    m.put(p + "mixer.out_proj.weight", Shape.of(d, inner));
                    m.put(p + "mixer.out_proj.bias", Shape.of(d));
                }
            }
            m.put(p + "norm1.weight", Shape.of(d));
            m.put(p + "mlp.fc1.weight", Shape.of(2 * mlp.hidden(), d));
            m.put(p + "mlp.fc2.weight", Shape.of(d, mlp.hidden()));
            m.put(p + "norm2.weight", Shape.of(d));
        }
        m.put("transformer.ln_f.weight", Shape.of(d));
        if (!tieWordEmbeddings) {
            m.put("lm_head.weight", Shape.of(paddedVocabSize, d));
        }
        return m;
    }

    /**
     * The shape of the golden {@code tiny_lm} case: 5 layers of width 64 (BaseConv, linear attention with 4 heads of
     * feature dim 16, sliding window of {@code window_size 8} with 4 heads, BaseConv, BaseConv), MLP 256, vocabulary
     * 100 padded to 104. Small enough for demos with random weights.
     */
    public static BasedConfig tiny() {
        return parse("""
                {"n_embd": 64, "n_layer": 5, "n_head": 4, "n_inner": 128, "vocab_size": 100,
                 "pad_vocab_size_multiple": 8, "alt_mixer_layers": [1], "alt_mixer_2_layers": [2],
                 "alt_mixer": {"feature_dim": 16, "num_heads": 4}, "alt_mixer_2": {"window_size": 8},
                 "mixer": {"expand_proj": 4}}
                """);
    }

    /**
     * Reads the {@code config} object of a golden {@code tiny_lm} case ({@code golden/FORMAT.md}): {@code d_model},
     * {@code n_layer}, {@code n_head}, {@code la_num_heads}, {@code feature_dim}, {@code window_size},
     * {@code n_inner}, {@code alt_mixer_layers}, {@code alt_mixer_2_layers}, {@code vocab_size},
     * {@code pad_vocab_size_multiple}, {@code layer_norm_epsilon}; the derived keys it also holds
     * ({@code padded_vocab_size}, {@code gated_mlp_hidden}, {@code layer_types}) are checked against the result.
     * This is how the conformance kit's golden runner builds the model of such a case.
     *
     * @param caseConfigJson the text of the case's {@code config} object
     * @throws CheckpointException naming the key that is missing or contradicts the rest
     */
    public static BasedConfig fromTinyLmCase(String caseConfigJson) {
        Objects.requireNonNull(caseConfigJson, "caseConfigJson");
        com.fasterxml.jackson.databind.JsonNode c;
        try {
            c = ConfigJson.MAPPER.readTree(caseConfigJson);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new CheckpointException("tiny_lm case config: not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (c == null || !c.isObject()) {
            throw new CheckpointException("tiny_lm case config: expected a JSON object");
        }
        var o = ConfigJson.MAPPER.createObjectNode();
        o.put("n_embd", caseInt(c, "d_model"));
        o.put("n_layer", caseInt(c, "n_layer"));
        o.put("n_head", caseInt(c, "n_head"));
        o.put("n_inner", caseInt(c, "n_inner"));
        o.put("vocab_size", caseInt(c, "vocab_size"));
        o.put("pad_vocab_size_multiple", c.hasNonNull("pad_vocab_size_multiple") ? caseInt(c, "pad_vocab_size_multiple")
                : 1);
        if (c.hasNonNull("layer_norm_epsilon")) {
            if (!c.get("layer_norm_epsilon").isNumber()) {
                throw new CheckpointException("tiny_lm case config: layer_norm_epsilon: expected a number, got "
                        + c.get("layer_norm_epsilon"));
            }
            o.put("layer_norm_epsilon", c.get("layer_norm_epsilon").asDouble());
        }
        for (String key : List.of("alt_mixer_layers", "alt_mixer_2_layers")) {
            if (!c.has(key)) {
                throw new CheckpointException("tiny_lm case config: missing key " + key);
            }
            o.set(key, c.get(key));
        }
        o.putObject("alt_mixer").put("num_heads", caseInt(c, "la_num_heads")).put("feature_dim", caseInt(c, "feature_dim"));
        o.putObject("alt_mixer_2").put("window_size", caseInt(c, "window_size"));
        o.putObject("mixer").put("expand_proj", 4);
        BasedConfig config;
        try {
            config = parse(o.toString());
        } catch (CheckpointException e) {
            throw new CheckpointException("tiny_lm case config: " + e.getMessage()
                    .replace("n_embd", "d_model").replace("alt_mixer.num_heads", "la_num_heads")
                    .replace("alt_mixer.feature_dim", "feature_dim").replace("alt_mixer_2.window_size", "window_size"), e);
        }
        if (c.has("padded_vocab_size") && !(ConfigJson.exactInt(c.get("padded_vocab_size"))
                && c.get("padded_vocab_size").asInt() == config.paddedVocabSize())) {
            throw new CheckpointException("tiny_lm case config: padded_vocab_size " + c.get("padded_vocab_size")
                    + " contradicts vocab_size and pad_vocab_size_multiple (" + config.paddedVocabSize() + ")");
        }
        if (c.has("gated_mlp_hidden") && !(ConfigJson.exactInt(c.get("gated_mlp_hidden"))
                && c.get("gated_mlp_hidden").asInt() == config.mlp().hidden())) {
            throw new CheckpointException("tiny_lm case config: gated_mlp_hidden " + c.get("gated_mlp_hidden")
                    + " contradicts n_inner rounded up to 256 (" + config.mlp().hidden() + ")");
        }
        if (c.has("layer_types")) {
            for (int i = 0; i < config.layerCount(); i++) {
                String expected = switch (config.mixer(i)) {
                    case BASE_CONV -> "BaseConv";
                    case LINEAR_ATTENTION -> "LinearAttention";
                    case SLIDING_WINDOW -> "SlidingAttention";
                };
                if (!expected.equals(c.get("layer_types").path(i).asText())) {
                    throw new CheckpointException("tiny_lm case config: layer_types[" + i + "] is "
                            + c.get("layer_types").path(i) + ", the layer lists make it " + expected);
                }
            }
        }
        return config;
    }

    /** An integer of a tiny_lm case's config, exactly (never wrapped into range). */
    private static int caseInt(com.fasterxml.jackson.databind.JsonNode c, String key) {
        com.fasterxml.jackson.databind.JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            throw new CheckpointException("tiny_lm case config: missing key " + key);
        }
        if (!ConfigJson.exactInt(v)) {
            throw new CheckpointException("tiny_lm case config: " + key + ": expected an integer in ["
                    + Integer.MIN_VALUE + ", " + Integer.MAX_VALUE + "], got " + v);
        }
        return v.asInt();
    }

    /**
     * @return elements of the decode state of one sequence: linear-attention states in the canonical layout, window
     *     rings and convolution windows
     */
    public long stateElementsPerSequence() {
        return ModelFootprint.of(this).stateElements();
    }

    /**
     * @return an upper estimate of the elements one token of a prefill holds at once: its logits, the MLP's
     *     intermediates, a few model-wide vectors and the Taylor features of q and k
     */
    public long activationElementsPerToken() {
        return ModelFootprint.of(this).activationElementsPerToken();
    }

    /** @return weights of the model in elements (the tied head counted once) */
    public long parameterCount() {
        return ModelFootprint.of(this).weightElements();
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }
}
