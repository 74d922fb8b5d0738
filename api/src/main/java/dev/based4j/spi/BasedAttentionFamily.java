package dev.based4j.spi;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.tensor.DType;

/**
 * Kernel family: the fused linear-plus-window layer ({@code sdk-conventions.md}): exact softmax over the last
 * {@code lookback + 1} keys, linear attention over the keys that left the window, one shared normaliser. Supplied to
 * {@link Engine.Builder#basedAttention} with the feature maps it accepts. Both methods update the far state
 * {@code kv, z} and the ring {@code keys, values} (a key enters the far state at the step it leaves the ring) and
 * write {@code out}; based4j advances the state's position afterwards.
 *
 * @param <B> the backend's type of memory handle
 */
public interface BasedAttentionFamily<B> {
    /** {@code seq} tokens, continuing from the state. */
    void prefill(Call<B> call);

    /** One token ({@code seq = 1}). */
    void decode(Call<B> call);

    /**
     * One validated call. Layouts (row-major, type {@code dtype}): {@code q, k [batch, heads, seq, f]} with
     * {@code f = spec.featureMap().inputDim()}, {@code v, out [batch, heads, seq, valueDim]}, far state {@code kv
     * [batch, heads, valueDim, D]} and {@code z [batch, heads, D]}, ring {@code keys [batch, heads, lookback + 1, f]}
     * and {@code values [batch, heads, lookback + 1, valueDim]}; {@code position} tokens were consumed before.
     */
    record Call<B>(BasedAttentionSpec spec, DType dtype, int batch, int heads, int seq, int valueDim, long position,
            B q, B k, B v, B kv, B z, B keys, B values, B out) {
        /** @return f, the dimension of queries and keys */
        public int keyDim() {
            return spec.featureMap().inputDim();
        }

        /** @return D, the feature map's output dimension */
        public int expandedDim() {
            return spec.featureMap().outputDim();
        }

        /** @return ring slots, {@code lookback + 1} */
        public int capacity() {
            return spec.lookback() + 1;
        }
    }
}
