package dev.based4j.tensor;

import dev.based4j.Backend;

/**
 * A handle to a row-major tensor that lives in one backend's memory (host heap, OpenCL buffer, CUDA device
 * memory, ...). Only the owning backend's kernels accept it; copy it to the host with
 * {@link Backend#download(Tensor)}. Closing frees the memory; using a closed tensor throws
 * {@link IllegalStateException}. Closing twice is allowed.
 */
public interface Tensor extends AutoCloseable {
    /** @return the dimensions */
    Shape shape();

    /** @return the element type */
    DType dtype();

    /** @return the backend that owns the memory */
    Backend backend();

    /** @return whether {@link #close()} has been called */
    boolean isClosed();

    /** Frees the memory. Idempotent. */
    @Override
    void close();
}
