package dev.based4j.spi;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;

/**
 * The memory of a backend: the one part every plugin supplies. based4j calls it with arguments it has validated
 * (shapes of at least one element, a type among the engine's precisions, a destination of the source's shape and
 * type) and keeps the accounting, the ownership checks and the closing of tensors to itself.
 *
 * @param <B> the backend's type of memory handle, which the kernel families receive in their calls
 */
public interface Memory<B> {
    /**
     * Allocates zero-filled memory for a tensor.
     *
     * @param shape the tensor's shape
     * @param dtype its element type, one of the engine's precisions
     * @return the handle, its native bytes and how to free it
     */
    Allocation<B> allocate(Shape shape, DType dtype);

    /**
     * Copies a host tensor into new memory of the same shape and type (row-major, little-endian elements of
     * {@code host.dtype()}).
     */
    Allocation<B> upload(HostTensor host);

    /**
     * Copies {@code source} into {@code destination}, which has the shape and type the source was allocated with.
     * Waits for kernels still running on {@code source}.
     */
    void download(B source, HostTensor destination);
}
