package dev.based4j.spi;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.tensor.DType;

/**
 * Kernel family: causal linear attention, prefill and decode ({@code based-math.md} b). Supplied to
 * {@link Engine.Builder#linearAttention} with the feature maps it accepts. Both methods read {@code q, k, v}, update
 * the state {@code kv, z} in place and write {@code out}; based4j advances the state's position afterwards. Prefill of
 * {@code n} tokens followed by decode of {@code m} must equal prefill of {@code n + m}.
 *
 * @param <B> the backend's type of memory handle
 */
public interface LinearAttentionFamily<B> {
    /** {@code seq} tokens, continuing from the state. */
    void prefill(Call<B> call);

    /** One token ({@code seq = 1}): update the state, then read out. */
    void decode(Call<B> call);

    /**
     * One validated call. Layouts (row-major, type {@code dtype}): {@code q, k [batch, heads, seq, f]} with
     * {@code f = spec.featureDim()}, {@code v, out [batch, heads, seq, valueDim]}, state {@code kv [batch, heads,
     * valueDim, D]} and {@code z [batch, heads, D]} with {@code D = spec.expandedDim()} (the canonical layout of
     * {@link dev.based4j.state.LinearAttentionState}). {@code out} is none of the inputs.
     */
    record Call<B>(LinearAttentionSpec spec, DType dtype, int batch, int heads, int seq, int valueDim, B q, B k, B v,
            B kv, B z, B out) {
        /** @return f, the dimension of queries and keys */
        public int keyDim() {
            return spec.featureDim();
        }

        /** @return D, the feature map's output dimension */
        public int expandedDim() {
            return spec.expandedDim();
        }
    }
}
