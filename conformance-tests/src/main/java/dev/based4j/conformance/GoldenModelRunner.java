package dev.based4j.conformance;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.WeightFormat;

/**
 * Runs a whole model of a golden case ({@code tiny_lm}): builds it from the case's checkpoint weights and
 * configuration on a backend and returns its logits. The model module provides one through
 * {@link java.util.ServiceLoader} ({@code provides dev.based4j.conformance.GoldenModelRunner with ...}); until
 * one is present, whole-model golden cases are reported skipped.
 */
public interface GoldenModelRunner {
    /** @return whether this runner computes the model of {@code golden} */
    boolean supports(GoldenCase golden);

    /**
     * Computes the logits of {@code golden}'s {@code input_ids}.
     *
     * @param backend where to run; the runner frees what it allocates there
     * @param dtype the precision to run in
     * @return logits {@code [batch, seq, vocab]} as the case's {@code logits} tensor lays them out
     */
    HostTensor logits(Backend backend, DType dtype, GoldenCase golden);

    /**
     * @return whether this runner computes the model of {@code golden} with its matrices (projections, MLP, embedding,
     *     head) stored in {@code weights}; by default only in the compute type
     */
    default boolean supports(GoldenCase golden, WeightFormat weights) {
        return supports(golden) && !weights.isReduced();
    }

    /**
     * Computes the logits of {@code golden}'s {@code input_ids} with the model's matrices stored in {@code weights}
     * (converted from the case's float weights when the model is built); by default only the compute type.
     *
     * @throws UnsupportedOperationException when this runner does not store weights in {@code weights}
     */
    default HostTensor logits(Backend backend, DType dtype, WeightFormat weights, GoldenCase golden) {
        if (weights.isReduced()) {
            throw new UnsupportedOperationException("weights: " + getClass().getName() + " runs models with weights in"
                    + " their compute type only, not " + weights.label());
        }
        return logits(backend, dtype, golden);
    }
}
