package dev.based4j.opencl;

import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.Memory;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;

/**
 * Device memory of the OpenCL backend: each tensor in one buffer of the backend's context, row-major and contiguous.
 * Freeing releases the buffer; kernels already enqueued on it still complete (OpenCL frees the memory after them).
 */
final class OpenClMemory implements Memory<ClBuffer> {
    private final ClContext cl;

    OpenClMemory(ClContext cl) {
        this.cl = cl;
    }

    @Override
    public Allocation<ClBuffer> allocate(Shape shape, DType dtype) {
        return owned(cl.allocateZeroed(Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize())));
    }

    @Override
    public Allocation<ClBuffer> upload(HostTensor host) {
        return owned(cl.upload(host.segment()));
    }

    @Override
    public void download(ClBuffer source, HostTensor destination) {
        // a blocking read on the in-order queue: it waits for every kernel enqueued before it
        cl.read(source, destination.segment());
    }

    /** Copies on the device, for state backups: enqueued in order, so no host round trip and no wait. */
    void copy(ClBuffer source, long sourceOffset, ClBuffer destination, long destinationOffset, long bytes) {
        cl.copy(source, sourceOffset, destination, destinationOffset, bytes);
    }

    private static Allocation<ClBuffer> owned(ClBuffer buffer) {
        // the free action releases the buffer, never the tensor: the cleaner needs the tensor unreachable
        return new Allocation<>(buffer, buffer.byteSize(), buffer::close);
    }
}
