package dev.based4j.spi;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.tensor.DType;

/**
 * Kernel family: causal softmax attention over a sliding window (or over every earlier token, for an unbounded
 * spec), continuing from a key/value ring buffer. Supplied to {@link Engine.Builder#slidingWindow}. Both methods read
 * {@code q, k, v}, write each new token's key and value into its ring slot ({@code position mod capacity}) and write
 * {@code out}; based4j advances the state's position afterwards.
 *
 * @param <B> the backend's type of memory handle
 */
public interface SlidingWindowFamily<B> {
    /** {@code seq} tokens, continuing from the ring. */
    void prefill(Call<B> call);

    /** One token ({@code seq = 1}). */
    void decode(Call<B> call);

    /**
     * One validated call. Layouts (row-major, type {@code dtype}): {@code q, k [batch, heads, seq, keyDim]},
     * {@code v, out [batch, heads, seq, valueDim]}, ring {@code keys [batch, heads, capacity, keyDim]} and
     * {@code values [batch, heads, capacity, valueDim]} holding positions {@code max(0, position - capacity) ..
     * position - 1}. Query {@code i} (absolute position {@code position + i}) sees keys {@code max(0, p - lookback) ..
     * p}. For an unbounded spec the ring is a KV cache with room for every token of the call.
     */
    record Call<B>(SlidingWindowSpec spec, DType dtype, int batch, int heads, int seq, int keyDim, int valueDim,
            long position, int capacity, B q, B k, B v, B keys, B values, B out) {}
}
