package dev.based4j.conformance;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;

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
}
