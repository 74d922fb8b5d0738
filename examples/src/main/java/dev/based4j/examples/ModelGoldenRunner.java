package dev.based4j.examples;

import dev.based4j.conformance.GoldenCase;
import dev.based4j.conformance.GoldenModelRunner;
import dev.based4j.layer.WeightSource;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.WeightFormat;
import java.util.HashMap;
import java.util.Map;

/**
 * Runs golden {@code tiny_lm} cases through the SDK's own model: {@link BasedConfig#fromTinyLmCase} reads the case's
 * configuration, {@link BasedModel#fromWeights} builds the model from its checkpoint weights on the backend under
 * test (its matrices in the weight format asked for), and the logits of the case's {@code input_ids} come from one
 * prefill. Registered for
 * {@link java.util.ServiceLoader}, so {@code based4j conformance} checks whole-model logits through the model
 * module (the kit's own {@link dev.based4j.conformance.LayerStackGoldenRunner} covers backends' own test runs).
 */
public final class ModelGoldenRunner implements GoldenModelRunner {
    /** Creates the runner (stateless). */
    public ModelGoldenRunner() {}

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
        BasedConfig config = BasedConfig.fromTinyLmCase(golden.config().toString());
        Map<String, HostTensor> weights = new HashMap<>();
        golden.tensors().values().stream().filter(t -> t.role().equals("weight"))
                .forEach(t -> weights.put(t.name(), golden.tensor(t.name(), DType.F32)));
        int[] ids = golden.ints("input_ids");
        int batch = golden.spec("input_ids").shape().dim(0);
        int seq = golden.spec("input_ids").shape().dim(1);
        try (BasedModel model = BasedModel.fromWeights(backend, config, WeightSource.of(weights), dtype, format)) {
            return model.logits(ids, batch, seq);
        }
    }
}
