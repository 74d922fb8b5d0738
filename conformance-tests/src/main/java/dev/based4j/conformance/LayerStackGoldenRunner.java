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
        JsonNode cfg = golden.config();
        int d = golden.intConfig("d_model");
        List<MixerConfig> mixers = new ArrayList<>();
        for (JsonNode type : cfg.get("layer_types")) {
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
                        + "': layer type '" + type.asText() + "' is not one of BaseConv, LinearAttention, SlidingAttention");
            });
        }
        LayerStack.Config config = new LayerStack.Config(golden.intConfig("padded_vocab_size"), mixers,
                new SwiGluMlp.Config(d, golden.intConfig("gated_mlp_hidden")),
                golden.doubleConfig("layer_norm_epsilon"), true);
        Map<String, HostTensor> weights = new HashMap<>();
        golden.tensors().values().stream().filter(t -> t.role().equals("weight"))
                .forEach(t -> weights.put(t.name(), golden.tensor(t.name(), DType.F32)));
        int[] ids = golden.ints("input_ids");
        int batch = golden.spec("input_ids").shape().dim(0);
        int seq = golden.spec("input_ids").shape().dim(1);
        try (LayerStack stack = LayerStack.load(backend, dtype, WeightSource.of(weights), config);
                LayerStack.State state = stack.newState(batch);
                Tensor logits = stack.prefill(ids, batch, seq, state)) {
            return backend.download(logits);
        }
    }
}
