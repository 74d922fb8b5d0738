package dev.based4j.spi;

import dev.based4j.tensor.DType;

/**
 * Kernel family: the short causal depthwise convolution of BaseConv,
 * {@code out[b,t,c] = Σ_j weight[c,j]·u[b,t-K+1+j,c]}, where inputs before the call come from the state's window of
 * the last {@code K} inputs (the last tap multiplies the current token). Supplied to {@link Engine.Builder#conv}.
 * Updates the window; based4j advances the state's position afterwards.
 *
 * @param <B> the backend's type of memory handle
 */
@FunctionalInterface
public interface ConvFamily<B> {
    /** Prefill and decode ({@code seq = 1}) alike. */
    void causalConv(Call<B> call);

    /**
     * One validated call: {@code x, out [batch, seq, channels]}, {@code weight [channels, kernelSize]}, window
     * {@code [batch, channels, kernelSize]} (the last {@code kernelSize} inputs, oldest first), type {@code dtype}.
     */
    record Call<B>(DType dtype, int batch, int seq, int channels, int kernelSize, B x, B weight, B window, B out) {}
}
