package dev.based4j.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.SwiGluMlp;
import dev.based4j.layer.WeightSource;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.WeightFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The kit's own whole-model runner for {@code tiny_lm} golden cases, built on the api's {@link LayerStack} from the
 * case's configuration and checkpoint weights: it proves that a backend runs a whole BASED model (pre-norm blocks,
 * residuals, final norm, tied head) against the original code, with nothing but the api. Runners found through
 * {@link java.util.ServiceLoader} come first (the command line adds one that goes through the model module's
 * checkpoint loading); this one is the fallback.
 */
public final class LayerStackGoldenRunner implements GoldenModelRunner {
    /** Creates the runner (stateless). */
    public LayerStackGoldenRunner() {}

    @Override
    public boolean supports(GoldenCase golden) {
        return golden.op().equals("tiny_lm");
    }

    @Override
    public HostTensor logits(Backend backend, DType dtype, GoldenCase golden) {
        return logits(backend, dtype, WeightFormat.of(dtype), golden);
    }

    @Override
    public boolean supports(GoldenCase golden, WeightFormat weights) {
        return supports(golden);
    }

    @Override
    public HostTensor logits(Backend backend, DType dtype, WeightFormat format, GoldenCase golden) {
        LayerStack.Config config = config(golden);
        Map<String, HostTensor> weights = new HashMap<>();
        golden.tensors().values().stream().filter(t -> t.role().equals("weight"))
                .forEach(t -> weights.put(t.name(), golden.tensor(t.name(), DType.F32)));
        int[] ids = golden.ints("input_ids");
        int batch = golden.spec("input_ids").shape().dim(0);
        int seq = golden.spec("input_ids").shape().dim(1);
        LayerStack stack;
        try {
            stack = LayerStack.load(backend, dtype, format, WeightSource.of(weights), config);
        } catch (IllegalArgumentException e) {
            // a weight missing from the case or of the wrong shape: the case's fault, not the backend's
            throw new GoldenFormatException("golden case '" + golden.name() + "' (" + golden.location() + "): "
                    + e.getMessage(), e);
        }
        try (stack;
                LayerStack.State state = stack.newState(batch);
                Tensor logits = stack.prefill(ids, batch, seq, state)) {
            return backend.download(logits);
        }
    }

    /**
     * The stack a {@code tiny_lm} case describes: its {@code layer_types}, widths and heads, SwiGLU MLPs, RMSNorm,
     * tied head.
     *
     * @throws GoldenFormatException naming the case and the key when the configuration does not describe a stack
     */
    static LayerStack.Config config(GoldenCase golden) {
        try {
            JsonNode cfg = golden.config();
            int d = golden.intConfig("d_model");
            JsonNode types = cfg.get("layer_types");
            if (types == null || !types.isArray() || types.isEmpty()) {
                throw new GoldenFormatException("golden case '" + golden.name() + "': config.layer_types: expected a"
                        + " non-empty list of layer types");
            }
            JsonNode layers = cfg.get("n_layer");
            if (layers != null && !layers.isNull() && (!layers.isIntegralNumber() || !layers.canConvertToInt()
                    || layers.asInt() != types.size())) {
                throw new GoldenFormatException("golden case '" + golden.name() + "': config.n_layer: expected an"
                        + " integer in [1, " + Integer.MAX_VALUE + "] equal to the " + types.size() + " entries of"
                        + " layer_types, got " + layers + " (" + golden.location() + ")");
            }
            List<MixerConfig> mixers = new ArrayList<>();
            for (JsonNode type : types) {
                mixers.add(switch (type.asText()) {
                    case "BaseConv" -> BaseConvLayer.Config.of(d);
                    case "LinearAttention" -> {
                        int heads = golden.intConfig("la_num_heads");
                        yield new LinearAttentionLayer.Config(d, heads, d / heads,
                                LinearAttentionSpec.of(new Taylor(golden.intConfig("feature_dim"))));
                    }
                    case "SlidingAttention" -> SlidingWindowLayer.Config.of(d, golden.intConfig("n_head"),
                            golden.intConfig("window_size") / 2);
                    default -> throw new GoldenFormatException("golden case '" + golden.name()
                            + "': layer type '" + type.asText()
                            + "' is not one of BaseConv, LinearAttention, SlidingAttention");
                });
            }
            return new LayerStack.Config(golden.intConfig("padded_vocab_size"), mixers,
                    new SwiGluMlp.Config(d, golden.intConfig("gated_mlp_hidden")),
                    golden.doubleConfig("layer_norm_epsilon"), true);
        } catch (IllegalArgumentException e) {
            throw new GoldenFormatException("golden case '" + golden.name() + "' (" + golden.location() + "): "
                    + e.getMessage(), e);
        }
    }

    /** @return elements of the recurrent state of one sequence of {@code config} (for budgets), saturating */
    static long stateElements(LayerStack.Config config) {
        long total = 0;
        for (MixerConfig m : config.mixers()) {
            long n = switch (m) {
                case LinearAttentionLayer.Config c -> (long) c.heads() * c.spec().expandedDim() * (c.headDim() + 1L);
                case SlidingWindowLayer.Config c -> c.window().isUnbounded() ? (long) c.maxTokens() * 2 * c.modelDim()
                        : ((long) c.window().lookback() + 1) * 2 * c.modelDim();
                default -> 16L * m.modelDim();
            };
            total = n > Long.MAX_VALUE - total ? Long.MAX_VALUE : total + n;
        }
        return total;
    }
}
