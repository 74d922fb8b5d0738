package dev.based4j.onnx;

import dev.based4j.onnx.kernels.OnnxBuffer;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.Memory;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.lang.foreign.MemorySegment;

/**
 * Host memory of the ONNX Runtime backend: each tensor an {@link OnnxBuffer} of its own, at most 2 GiB, which ONNX
 * Runtime reads and writes in place. Copies hold a lease on the memory, so a tensor closed meanwhile on another thread
 * is freed after the copy rather than under it.
 */
final class OnnxMemory implements Memory<OnnxBuffer> {
    @Override
    public Allocation<OnnxBuffer> allocate(Shape shape, DType dtype) {
        long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
        if (bytes > OnnxBuffer.MAX_BYTES) {
            throw new IllegalArgumentException("shape: " + shape + " of " + dtype.label() + " needs " + bytes
                    + " bytes; the onnx backend holds at most " + OnnxBuffer.MAX_BYTES + " bytes per tensor");
        }
        OnnxBuffer b = OnnxBuffer.allocate(shape.elementCount(), dtype);
        // the free action frees the buffer, never the tensor: the cleaner needs the tensor unreachable
        return new Allocation<>(b, b.byteSize(), b::free);
    }

    @Override
    public Allocation<OnnxBuffer> upload(HostTensor host) {
        Allocation<OnnxBuffer> a = allocate(host.shape(), host.dtype());
        try (OnnxBuffer.Lease to = a.buffer().lease()) {
            MemorySegment.copy(host.segment(), 0, to.segment(), 0, a.nativeBytes());
        } catch (RuntimeException | Error e) {
            a.free().run();
            throw e;
        }
        return a;
    }

    @Override
    public void download(OnnxBuffer source, HostTensor destination) {
        try (OnnxBuffer.Lease from = source.lease()) {
            MemorySegment.copy(from.segment(), 0, destination.segment(), 0, source.byteSize());
        }
    }

    /**
     * Copies between tensors' host memory: the engine's device copy (the memory ONNX Runtime computes in is the
     * host's), for state backups and the row gathers of batched decode steps.
     */
    static void copy(OnnxBuffer source, long sourceOffset, OnnxBuffer destination, long destinationOffset, long bytes) {
        try (OnnxBuffer.Lease from = source.lease(); OnnxBuffer.Lease to = destination.lease()) {
            MemorySegment.copy(from.segment(), sourceOffset, to.segment(), destinationOffset, bytes);
        }
    }
}
