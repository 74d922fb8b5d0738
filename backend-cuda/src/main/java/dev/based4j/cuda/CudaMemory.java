package dev.based4j.cuda;

import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.Memory;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Device memory of the CUDA backend: one {@code cuMemAlloc} allocation per tensor, zero-filled on the stream.
 * Uploads and downloads go through the stream too; a download waits for it, so it sees every kernel enqueued before.
 */
final class CudaMemory implements Memory<CudaBuffer> {
    private final CudaContext context;

    CudaMemory(CudaContext context) {
        this.context = context;
    }

    @Override
    public Allocation<CudaBuffer> allocate(Shape shape, DType dtype) {
        long bytes = bytesOf(shape, dtype);
        long p = context.call(() -> {
            long pointer = context.allocate(bytes);
            try {
                context.driver().memsetD8Async(pointer, (byte) 0, bytes, context.stream());
            } catch (RuntimeException e) {
                context.free(pointer);
                throw e;
            }
            return pointer;
        });
        return allocation(p, bytes);
    }

    @Override
    public Allocation<CudaBuffer> upload(HostTensor host) {
        MemorySegment source = host.segment();
        long bytes = bytesOf(host.shape(), host.dtype());
        if (source.byteSize() != bytes) {
            throw new IllegalArgumentException("host: expected " + bytes + " bytes for " + host.dtype().label() + " "
                    + host.shape() + ", got a segment of " + source.byteSize());
        }
        long p = context.call(() -> {
            long pointer = context.allocate(bytes);
            try {
                copyIn(pointer, source, bytes);
            } catch (RuntimeException e) {
                context.free(pointer);
                throw e;
            }
            return pointer;
        });
        return allocation(p, bytes);
    }

    /** The free action names the context and the pointer, never the tensor: the cleaner needs it unreachable. */
    private Allocation<CudaBuffer> allocation(long pointer, long bytes) {
        CudaContext c = context;
        return new Allocation<>(new CudaBuffer(pointer, bytes), bytes, () -> c.release(pointer));
    }

    private void copyIn(long dst, MemorySegment src, long bytes) {
        if (src.isNative()) {
            // from pageable memory the driver stages the copy before returning, so the caller may free the source
            context.driver().memcpyHtoDAsync(dst, src, bytes, context.stream());
            return;
        }
        // a heap segment cannot be handed to the driver: stage it in native memory
        try (Arena a = Arena.ofConfined()) {
            MemorySegment staged = a.allocate(bytes, 64);
            staged.copyFrom(src);
            context.driver().memcpyHtoDAsync(dst, staged, bytes, context.stream());
            context.synchronize();
        }
    }

    @Override
    public void download(CudaBuffer source, HostTensor destination) {
        MemorySegment target = destination.segment();
        if (target.byteSize() != source.bytes()) {
            throw new IllegalArgumentException("destination: expected " + source.bytes() + " bytes, got a segment of "
                    + target.byteSize());
        }
        if (target.isReadOnly()) {
            // the driver would write into it regardless, and a read-only mapping would take the JVM down
            throw new IllegalArgumentException("destination: expected writable memory, got a read-only segment");
        }
        context.run(() -> {
            if (target.isNative()) {
                context.driver().memcpyDtoHAsync(target, source.pointer(), source.bytes(), context.stream());
                context.synchronize();
            } else {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment staged = a.allocate(source.bytes(), 64);
                    context.driver().memcpyDtoHAsync(staged, source.pointer(), source.bytes(), context.stream());
                    context.synchronize();
                    target.copyFrom(staged);
                }
            }
        });
    }

    private static long bytesOf(Shape shape, DType dtype) {
        return Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
    }
}
