package dev.based4j.state;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;

/**
 * State one mixer carries from token to token. Owns backend memory: close it. Kernels update it in place and
 * advance {@link #position()}; a kernel that throws leaves it unchanged.
 */
public sealed interface RecurrentState extends AutoCloseable
        permits LinearAttentionState, WindowState, BasedAttentionState, ConvState {

    /** @return the backend that owns the tensors */
    Backend backend();

    /** @return the element type of the tensors */
    DType dtype();

    /** @return the batch size */
    int batch();

    /** @return tokens consumed so far (the absolute position of the next token) */
    long position();

    /** @return bytes of backend memory the state occupies (fixed for every bounded state) */
    long sizeInBytes();

    /** @return a host copy that {@link StateFormat} can write and any backend can restore */
    StateSnapshot snapshot();

    /** @return whether {@link #close()} was called (or its backend was closed) */
    boolean isClosed();

    /** Frees the tensors. Idempotent. */
    @Override
    void close();
}
