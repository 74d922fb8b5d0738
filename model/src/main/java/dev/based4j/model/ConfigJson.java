package dev.based4j.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.model.BasedConfig.MixerKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/** Reads and writes the {@code config.json} of BASED checkpoints; the key table is on {@link BasedConfig}. */
final class ConfigJson {
    /**
     * The JSON reader of every checkpoint file: duplicate keys and anything after the top-level value refused, and
     * Jackson's read limits set for files that may come from anywhere (nesting, string and number lengths, whole
     * document), so a hostile file is refused before it makes a large allocation. Integers are read exactly: a value
     * that does not fit where it goes is refused, never wrapped (see {@link #exactInt}).
     */
    static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(64)
                    .maxNumberLength(64)
                    .maxStringLength(1 << 24)
                    .maxNameLength(1 << 16)
                    .maxDocumentLength(UntrustedFiles.TOKENIZER_LIMIT)
                    .build())
            .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private static final Set<String> IGNORED = Set.copyOf(Arrays.asList(BasedConfig.IGNORED_KEYS_TEXT.split(",\\s*")));
    private static final int MLP_MULTIPLE = 256;
    private static final double FLA_EPS = 1e-6;

    private ConfigJson() {}

    static BasedConfig parse(String json) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new CheckpointException("not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointException("expected a JSON object at the top level, got "
                    + (root == null ? "nothing" : root.getNodeType()));
        }
        Keys top = new Keys("", (ObjectNode) root);
        try {
            BasedConfig config = read(top);
            top.ignore(IGNORED);
            top.finish();
            return config;
        } catch (CheckpointException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            // a record's own validation (e.g. a rotary dimension out of range): same message, checkpoint error type
            throw new CheckpointException(e.getMessage(), e);
        }
    }

    private static BasedConfig read(Keys top) {
        int d = top.aliasedInt("n_embd", "hidden_size", null);
        int layers = top.aliasedInt("n_layer", "num_hidden_layers", null);
        int nHead = top.aliasedInt("n_head", "num_attention_heads", null);
        atLeastOne("n_embd", d);
        atLeastOne("n_layer", layers);
        atLeastOne("n_head", nHead);
        if (layers > BasedConfig.MAX_LAYERS) {
            // each block holds at least two norms and an MLP of 3·256·n_embd weights, at 2 bytes at the least
            throw new CheckpointException("n_layer: " + layers + " is above the limit of " + BasedConfig.MAX_LAYERS
                    + " layers; with n_embd " + d + " their weights alone would need at least "
                    + String.format(java.util.Locale.ROOT, "%.3g", (double) layers * 770 * d * 2) + " bytes");
        }
        // every weight dimension is an int: the widest are 3·n_embd (Wqkv) and expand_proj·n_embd (in_proj)
        fitsInt("n_embd", d, 3L * d, "3·n_embd (the rows of the window layers' Wqkv)");
        if (d % nHead != 0) {
            throw new CheckpointException("n_head: " + nHead + " does not divide n_embd " + d);
        }
        int vocab = top.integer("vocab_size", 50257);
        int multiple = top.integer("pad_vocab_size_multiple", 8);
        atLeastOne("vocab_size", vocab);
        atLeastOne("pad_vocab_size_multiple", multiple);
        long paddedLong = Math.ceilDiv((long) vocab, multiple) * multiple;
        fitsInt("vocab_size", vocab, paddedLong, "vocab_size rounded up to pad_vocab_size_multiple " + multiple
                + " (the rows of the embedding)");
        int padded = (int) paddedLong;
        double eps = top.number("layer_norm_epsilon", 1e-5);

        int positions = top.aliasedInt("n_positions", "max_position_embeddings", 0);
        if (positions != 0) {
            throw new CheckpointException("n_positions: " + positions + " means learned position embeddings; BASED"
                    + " models have none (expected 0)");
        }
        top.require("rms_norm", true, "RMSNorm is the norm of BASED (false means LayerNorm)");
        top.requireText("activation_function", "swiglu", "the MLP of BASED is SwiGLU");
        top.requireText("mlp_type", "base", "only the base GatedMlp is supported");
        top.require("prenorm", true, "BASED blocks are pre-norm");
        top.require("parallel_block", false, "BASED blocks are sequential");
        top.require("fused_mlp", false, "the fused MLP has no SwiGLU form, which contradicts activation_function");
        top.require("fused_dense_sqrelu_dense", false, "it contradicts activation_function swiglu");
        top.require("rotary_emb_interleaved", false, "BASED rotates halves (GPT-NeoX style)");
        top.require("lm_head_bias", false, "the LM head of BASED has no bias");
        top.requireNull("rotary_emb_scale_base", "xPos rotary scaling is not supported");
        top.requireNull("word_embed_proj_dim", "an embedding projection is not part of BASED");

        OptionalInt nInner = top.optionalInt("n_inner");
        long hidden0 = nInner.isPresent() ? nInner.getAsInt() : 8L * d / 3;
        if (hidden0 < 1) {
            throw new CheckpointException("n_inner: expected >= 1, got " + hidden0);
        }
        long hiddenLong = Math.ceilDiv(hidden0, MLP_MULTIPLE) * MLP_MULTIPLE;
        fitsInt(nInner.isPresent() ? "n_inner" : "n_embd", nInner.isPresent() ? nInner.getAsInt() : d, 2 * hiddenLong,
                "2·(n_inner rounded up to " + MLP_MULTIPLE + ") (the rows of mlp.fc1)");
        int hidden = (int) hiddenLong;
        top.require("mlp_fc1_bias", false, "the SwiGLU MLP of BASED has no biases");
        top.require("mlp_fc2_bias", false, "the SwiGLU MLP of BASED has no biases");
        BasedConfig.Mlp mlp = new BasedConfig.Mlp(hidden);

        List<Integer> laLayers = top.layerList("alt_mixer_layers", layers);
        List<Integer> swLayers = top.layerList("alt_mixer_2_layers", layers);
        Set<Integer> both = new TreeSet<>(laLayers);
        both.retainAll(swLayers);
        if (!both.isEmpty()) {
            throw new CheckpointException("alt_mixer_layers and alt_mixer_2_layers: layers " + both
                    + " are in both lists; each layer has one mixer");
        }
        Set<Integer> laSet = new HashSet<>(laLayers);
        Set<Integer> swSet = new HashSet<>(swLayers);
        List<MixerKind> mixers = new ArrayList<>(layers);
        for (int i = 0; i < layers; i++) {
            mixers.add(swSet.contains(i) ? MixerKind.SLIDING_WINDOW
                    : laSet.contains(i) ? MixerKind.LINEAR_ATTENTION : MixerKind.BASE_CONV);
        }

        // head_dim / n_head_kv feed the attention layers of the original code; only the plain values are supported
        OptionalInt headDimKey = top.optionalInt("head_dim");
        if (headDimKey.isPresent() && headDimKey.getAsInt() != d / nHead) {
            throw new CheckpointException("head_dim: " + headDimKey.getAsInt() + " contradicts n_embd/n_head = "
                    + d / nHead);
        }
        OptionalInt headKv = top.optionalInt("n_head_kv");
        if (headKv.isPresent() && headKv.getAsInt() != nHead) {
            throw new CheckpointException("n_head_kv: " + headKv.getAsInt() + " key/value heads (grouped-query"
                    + " attention) are not supported; expected n_head = " + nHead + " or no key");
        }

        BasedConfig.LinearAttention la = readLinearAttention(top, d, !laLayers.isEmpty());
        BasedConfig.SlidingWindow sw = readSlidingWindow(top, d, nHead, !swLayers.isEmpty());
        BasedConfig.BaseConv conv = readBaseConv(top, d, mixers.contains(MixerKind.BASE_CONV));
        boolean tie = top.bool("tie_word_embeddings", true);
        OptionalInt eos = top.optionalInt("eos_token_id");
        BasedConfig config = new BasedConfig(d, layers, vocab, padded, eps, mixers, mlp, la, sw, conv, tie, eos);
        try {
            ModelFootprint.of(config);
        } catch (ArithmeticException e) {
            throw new CheckpointException("n_layer " + layers + ", n_embd " + d + ", vocab_size " + vocab + ", n_inner "
                    + hidden + ": the model's weights or state have more elements than a 64-bit count holds", e);
        }
        return config;
    }

    private static BasedConfig.LinearAttention readLinearAttention(Keys top, int d, boolean used) {
        Keys m = top.object("alt_mixer", used);
        if (m == null) {
            return new BasedConfig.LinearAttention(16, 16, Math.max(1, d / 16), 1e-12);
        }
        m.target("LinearAttention");
        int heads = m.integer("num_heads", 16);
        int f = m.integer("feature_dim", 16);
        atLeastOne("alt_mixer.num_heads", heads);
        atLeastOne("alt_mixer.feature_dim", f);
        OptionalInt headDimKey = m.optionalInt("head_dim");
        if (d % heads != 0 && headDimKey.isEmpty()) {
            throw new CheckpointException("alt_mixer.num_heads: " + heads + " does not divide n_embd " + d);
        }
        int headDim = headDimKey.isPresent() ? headDimKey.getAsInt() : d / heads;
        atLeastOne("alt_mixer.head_dim", headDim);
        // the Taylor map of f inputs has 1 + f + f² features; q/k projections have heads·f rows, v heads·head_dim
        fitsInt("alt_mixer.feature_dim", f, 1 + (long) f + (long) f * f, "1 + f + f² (the Taylor features)");
        fitsInt("alt_mixer.feature_dim", f, (long) heads * f, "num_heads·feature_dim (the rows of proj_q)");
        fitsInt("alt_mixer.head_dim", headDim, (long) heads * headDim, "num_heads·head_dim (the rows of proj_v)");
        OptionalInt kvHeads = m.optionalInt("num_key_value_heads");
        if (kvHeads.isPresent() && kvHeads.getAsInt() != heads) {
            throw new CheckpointException("alt_mixer.num_key_value_heads: " + kvHeads.getAsInt()
                    + " contradicts num_heads " + heads + " (the BASED linear attention has as many key as query heads)");
        }
        Keys fm = m.object("feature_map", false);
        if (fm != null) {
            fm.target("TaylorExp");
            JsonNode in = fm.take("input_dim");
            if (in != null && !in.isNull()) {
                boolean interpolation = in.isTextual() && in.asText().equals("${..feature_dim}");
                if (!interpolation && !(exactInt(in) && in.asInt() == f)) {
                    throw new CheckpointException("alt_mixer.feature_map.input_dim: " + in
                            + " contradicts alt_mixer.feature_dim " + f);
                }
            }
            fm.finish();
        }
        String impl = m.text("parallel_implementation", "quadratic");
        double eps = switch (impl) {
            case "quadratic", "linear" -> 1e-12;
            case "fla_parallel", "fla_chunk" -> FLA_EPS;
            default -> throw new CheckpointException("alt_mixer.parallel_implementation: '" + impl
                    + "' is not supported; expected quadratic, linear, fla_parallel or fla_chunk"
                    + ("tk".equals(impl) ? " (tk normalises with a per-head RMSNorm: another model)" : ""));
        };
        eps = m.number("eps", eps);
        m.ignore(Set.of("l_max", "layer_idx"));
        m.finish();
        return new BasedConfig.LinearAttention(heads, f, headDim, eps);
    }

    private static BasedConfig.SlidingWindow readSlidingWindow(Keys top, int d, int nHead, boolean used) {
        boolean qkvBias = top.bool("qkv_proj_bias", false);
        boolean outBias = top.bool("out_proj_bias", false);
        double fraction = top.number("rotary_emb_fraction", 1.0);
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new CheckpointException("rotary_emb_fraction: expected 0..1, got " + fraction);
        }
        double base = top.number("rotary_emb_base", 10000.0);
        boolean scaleWeights = top.bool("scale_attn_weights", true);
        boolean inverseLayer = top.bool("scale_attn_by_inverse_layer_idx", false);
        int headDim = d / nHead;
        int rotaryDim = ((int) (fraction * headDim)) & ~1;
        Keys m = top.object("alt_mixer_2", used);
        int window = 128;
        if (m != null) {
            m.target("SlidingAttention");
            OptionalInt heads = m.optionalInt("num_heads");
            if (heads.isPresent() && heads.getAsInt() != nHead) {
                throw new CheckpointException("alt_mixer_2.num_heads: " + heads.getAsInt() + " contradicts n_head "
                        + nHead + " (the original code builds the window layers with n_head heads)");
            }
            window = m.integer("window_size", 128);
            if (window < 0 || window / 2 > BasedConfig.MAX_LOOKBACK) {
                throw new CheckpointException("alt_mixer_2.window_size: expected 0.." + (2 * BasedConfig.MAX_LOOKBACK + 1)
                        + " (a ring of window_size/2 + 1 tokens, at most " + (BasedConfig.MAX_LOOKBACK + 1)
                        + "), got " + window);
            }
            m.require("causal", true, "the window attention of a language model is causal");
            m.ignore(Set.of("l_max", "layer_idx"));
            m.finish();
        }
        return new BasedConfig.SlidingWindow(nHead, headDim, window, window / 2, rotaryDim, base, qkvBias, outBias,
                scaleWeights, inverseLayer);
    }

    private static BasedConfig.BaseConv readBaseConv(Keys top, int d, boolean used) {
        Keys m = top.object("mixer", used);
        if (m == null) {
            return new BasedConfig.BaseConv(4, 3);
        }
        m.target("BaseConv");
        int expand = m.integer("expand_proj", 4);
        int kernel = m.integer("kernel_size", 3);
        atLeastOne("mixer.expand_proj", expand);
        fitsInt("mixer.expand_proj", expand, (long) expand * d, "expand_proj·n_embd (the rows of in_proj)");
        m.require("use_bias", true, "the BaseConv of BASED has biases on in_proj and out_proj");
        m.require("use_cuda", false,
                "use_cuda trains the convolution with a bias (conv.conv.bias) that BaseConv otherwise lacks");
        m.ignore(Set.of("l_max", "layer_idx", "kernel_sizes"));
        m.finish();
        return new BasedConfig.BaseConv(expand, kernel);
    }

    static String write(BasedConfig c) {
        ObjectNode o = MAPPER.createObjectNode();
        o.putArray("architectures").add("GPTLMHeadModel");
        o.put("model_type", "gpt2");
        o.put("n_embd", c.modelDim());
        o.put("n_layer", c.layerCount());
        o.put("n_head", c.slidingWindow().heads());
        o.put("n_inner", c.mlp().hidden());
        o.put("vocab_size", c.vocabSize());
        o.put("pad_vocab_size_multiple", padMultiple(c));
        o.put("layer_norm_epsilon", c.normEps());
        o.put("n_positions", 0);
        o.put("rms_norm", true);
        o.put("activation_function", "swiglu");
        o.put("mlp_fc1_bias", false);
        o.put("mlp_fc2_bias", false);
        o.put("qkv_proj_bias", c.slidingWindow().qkvBias());
        o.put("out_proj_bias", c.slidingWindow().outBias());
        o.put("rotary_emb_fraction", (double) c.slidingWindow().rotaryDim() / c.slidingWindow().headDim());
        o.put("rotary_emb_base", c.slidingWindow().rotaryBase());
        o.put("scale_attn_weights", c.slidingWindow().scaleByHeadDim());
        o.put("scale_attn_by_inverse_layer_idx", c.slidingWindow().scaleByInverseLayer());
        o.put("tie_word_embeddings", c.tieWordEmbeddings());
        o.put("residual_in_fp32", true);
        if (c.eosTokenId().isPresent()) {
            o.put("eos_token_id", c.eosTokenId().getAsInt());
        }
        ArrayNode la = o.putArray("alt_mixer_layers");
        c.layersOf(MixerKind.LINEAR_ATTENTION).forEach(la::add);
        ArrayNode sw = o.putArray("alt_mixer_2_layers");
        c.layersOf(MixerKind.SLIDING_WINDOW).forEach(sw::add);
        ObjectNode mixer = o.putObject("mixer");
        mixer.put("_target_", "based.models.mixers.convolution.BaseConv");
        mixer.put("expand_proj", c.baseConv().expandProj());
        mixer.put("kernel_size", c.baseConv().kernelSize());
        mixer.put("use_bias", true);
        ObjectNode alt = o.putObject("alt_mixer");
        alt.put("_target_", "based.models.mixers.linear_attention.LinearAttention");
        alt.put("num_heads", c.linearAttention().heads());
        alt.put("feature_dim", c.linearAttention().featureDim());
        alt.put("head_dim", c.linearAttention().headDim());
        alt.put("eps", c.linearAttention().eps());
        ObjectNode fm = alt.putObject("feature_map");
        fm.put("_target_", "based.models.mixers.linear_attention.TaylorExp");
        fm.put("input_dim", c.linearAttention().featureDim());
        ObjectNode alt2 = o.putObject("alt_mixer_2");
        alt2.put("_target_", "based.models.mixers.slide_attention.SlidingAttention");
        alt2.put("window_size", c.slidingWindow().windowSize());
        alt2.put("num_heads", c.slidingWindow().heads());
        alt2.put("causal", true);
        try {
            return MAPPER.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write config JSON", e);
        }
    }

    /** The smallest multiple that reproduces {@code paddedVocabSize} from {@code vocabSize}. */
    private static int padMultiple(BasedConfig c) {
        if (c.paddedVocabSize() == c.vocabSize()) {
            return 1;
        }
        for (int m = 2; m <= c.paddedVocabSize(); m++) {
            if (Math.ceilDiv(c.vocabSize(), m) * m == c.paddedVocabSize()) {
                return m;
            }
        }
        return c.paddedVocabSize();
    }

    private static void atLeastOne(String key, long value) {
        if (value < 1) {
            throw new CheckpointException(key + ": expected >= 1, got " + value);
        }
    }

    /** Refuses a key whose value makes a weight dimension ({@code what}, {@code size}) larger than an int. */
    private static void fitsInt(String key, long value, long size, String what) {
        if (size > Integer.MAX_VALUE) {
            throw new CheckpointException(key + ": " + value + " makes " + what + " = " + size + ", above the largest"
                    + " tensor dimension " + Integer.MAX_VALUE);
        }
    }

    /**
     * @return whether {@code v} is a number with an integral value that fits an int exactly ({@code 4.0} does,
     *     {@code 4294967297} and {@code 4.5} do not): a value is never wrapped or rounded into range
     */
    static boolean exactInt(JsonNode v) {
        return v != null && v.isNumber() && v.canConvertToExactIntegral() && v.canConvertToInt();
    }

    /** One JSON object whose keys are taken one by one; what is left at {@link #finish()} is an error. */
    private static final class Keys {
        private final String path;
        private final ObjectNode node;
        private final Set<String> left;

        Keys(String path, ObjectNode node) {
            this.path = path;
            this.node = node;
            this.left = new LinkedHashSet<>();
            node.fieldNames().forEachRemaining(left::add);
        }

        private String name(String key) {
            return path + key;
        }

        JsonNode take(String key) {
            left.remove(key);
            return node.get(key);
        }

        void ignore(Set<String> keys) {
            left.removeAll(keys);
        }

        void finish() {
            if (!left.isEmpty()) {
                String first = left.iterator().next();
                throw new CheckpointException(name(first) + ": unknown key" + (left.size() > 1 ? " (also "
                        + left.stream().skip(1).map(this::name).toList() + ")" : "")
                        + "; based4j does not know whether it changes the model, so it refuses it (known keys: see"
                        + " BasedConfig)");
            }
        }

        int integer(String key, int absent) {
            OptionalInt v = optionalInt(key);
            return v.isPresent() ? v.getAsInt() : absent;
        }

        OptionalInt optionalInt(String key) {
            JsonNode v = take(key);
            if (v == null || v.isNull()) {
                return OptionalInt.empty();
            }
            if (!exactInt(v)) {
                throw new CheckpointException(name(key) + ": expected an integer" + (v.isNumber()
                        && v.canConvertToExactIntegral() ? " in [" + Integer.MIN_VALUE + ", " + Integer.MAX_VALUE + "]"
                                : "") + ", got " + v);
            }
            return OptionalInt.of(v.asInt());
        }

        int aliasedInt(String key, String alias, Integer absent) {
            OptionalInt a = optionalInt(key);
            OptionalInt b = optionalInt(alias);
            if (a.isPresent() && b.isPresent() && a.getAsInt() != b.getAsInt()) {
                throw new CheckpointException(name(key) + ": " + a.getAsInt() + " contradicts its alias " + name(alias)
                        + ": " + b.getAsInt());
            }
            if (a.isPresent()) {
                return a.getAsInt();
            }
            if (b.isPresent()) {
                return b.getAsInt();
            }
            if (absent == null) {
                throw new CheckpointException(name(key) + ": required key is missing");
            }
            return absent;
        }

        double number(String key, double absent) {
            JsonNode v = take(key);
            if (v == null || v.isNull()) {
                return absent;
            }
            if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
                throw new CheckpointException(name(key) + ": expected a finite number, got " + v);
            }
            return v.asDouble();
        }

        boolean bool(String key, boolean absent) {
            JsonNode v = take(key);
            if (v == null || v.isNull()) {
                return absent;
            }
            if (v.isBoolean()) {
                return v.asBoolean();
            }
            if (exactInt(v) && (v.asInt() == 0 || v.asInt() == 1)) {
                return v.asInt() == 1;
            }
            throw new CheckpointException(name(key) + ": expected true or false, got " + v);
        }

        String text(String key, String absent) {
            JsonNode v = take(key);
            if (v == null || v.isNull()) {
                return absent;
            }
            if (!v.isTextual()) {
                throw new CheckpointException(name(key) + ": expected a string, got " + v);
            }
            return v.asText();
        }

        void require(String key, boolean expected, String why) {
            JsonNode raw = node.get(key);
            boolean v = bool(key, expected);
            if (v != expected) {
                throw new CheckpointException(name(key) + ": expected " + expected + ", got " + raw + "; " + why);
            }
        }

        void requireText(String key, String expected, String why) {
            String v = text(key, expected);
            if (!v.equals(expected)) {
                throw new CheckpointException(name(key) + ": expected '" + expected + "', got '" + v + "'; " + why);
            }
        }

        void requireNull(String key, String why) {
            JsonNode v = take(key);
            if (v != null && !v.isNull()) {
                throw new CheckpointException(name(key) + ": expected null or no key, got " + v + "; " + why);
            }
        }

        List<Integer> layerList(String key, int layers) {
            JsonNode v = take(key);
            if (v == null || v.isNull()) {
                return List.of();
            }
            if (!v.isArray()) {
                throw new CheckpointException(name(key) + ": expected a list of layer indices, got " + v);
            }
            Set<Integer> seen = new HashSet<>();
            List<Integer> out = new ArrayList<>();
            for (Iterator<JsonNode> it = v.elements(); it.hasNext(); ) {
                JsonNode e = it.next();
                if (!exactInt(e) || e.asInt() < 0 || e.asInt() >= layers) {
                    throw new CheckpointException(name(key) + ": expected layer indices in [0, " + layers + "), got "
                            + e);
                }
                if (!seen.add(e.asInt())) {
                    throw new CheckpointException(name(key) + ": layer " + e.asInt() + " is listed twice");
                }
                out.add(e.asInt());
            }
            return out;
        }

        Keys object(String key, boolean required) {
            JsonNode v = take(key);
            if (v == null || v.isNull()) {
                if (required) {
                    throw new CheckpointException(name(key) + ": required because layers use it, but missing"
                            + " (without it the original code builds plain multi-head attention, which BASED"
                            + " checkpoints do not have)");
                }
                return null;
            }
            if (!v.isObject()) {
                throw new CheckpointException(name(key) + ": expected an object, got " + v.getNodeType());
            }
            return new Keys(name(key) + ".", (ObjectNode) v);
        }

        /** Checks that {@code _target_}, when present, names class {@code simpleName} (any sliding-window class for
         *  SlidingAttention: the original code picks the window mixer by the word in its target). */
        void target(String simpleName) {
            JsonNode t = take("_target_");
            if (t == null || t.isNull()) {
                return;
            }
            if (!t.isTextual()) {
                throw new CheckpointException(name("_target_") + ": expected a class name, got " + t);
            }
            String s = t.asText();
            String cls = s.substring(s.lastIndexOf('.') + 1);
            if (!cls.equals(simpleName) && !(simpleName.equals("SlidingAttention") && cls.contains("Slid"))) {
                throw new CheckpointException(name("_target_") + ": expected class " + simpleName + ", got '" + s
                        + "'");
            }
        }
    }
}
