package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.Tensor;

/**
 * A sequence mixer of a BASED block with its weights uploaded to one backend: input and output
 * {@code [batch, seq, d_model]}. Prefill consumes a whole prompt and advances the state; decode takes one token
 * ({@code seq = 1}). Prefill of {@code n} then decode of {@code m} equals prefill of {@code n + m}.
 * Closing frees the weights.
 */
public interface Mixer extends AutoCloseable {
    /** @return d_model */
    int modelDim();

    /** @return the backend holding the weights */
    Backend backend();

    /** @return a fresh (zero) state for {@code batch} sequences */
    RecurrentState newState(int batch);

    /**
     * Runs {@code x [batch, seq, d_model]} continuing from {@code state}.
     *
     * @throws IllegalArgumentException when the state is not this mixer's kind or shapes differ
     */
    Tensor prefill(Tensor x, RecurrentState state);

    /** One token, {@code x [batch, 1, d_model]}. */
    Tensor decode(Tensor x, RecurrentState state);

    /** Frees the weights. */
    @Override
    void close();
}
