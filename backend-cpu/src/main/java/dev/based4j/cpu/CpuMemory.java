package dev.based4j.cpu;

import dev.based4j.cpu.kernels.CpuBuffer;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.Memory;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.lang.foreign.MemorySegment;

/**
 * Native memory of the CPU backend: each tensor in a 64-byte-aligned segment of its own shared arena, recycled
 * through a {@link SegmentCache} when it is closed. Read-only native host memory (memory-mapped weights) is viewed,
 * not copied: it cannot change under the tensor, and the page cache holds it once.
 */
final class CpuMemory implements Memory<CpuBuffer> {
    private final SegmentCache segments;

    CpuMemory(SegmentCache segments) {
        this.segments = segments;
    }

    @Override
    public Allocation<CpuBuffer> allocate(Shape shape, DType dtype) {
        long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
        SegmentCache.Block block = segments.take(bytes);
        // the free action hands the block back, never the tensor: the cleaner needs the tensor unreachable
        return new Allocation<>(new CpuBuffer(block.segment()), bytes, () -> segments.give(block));
    }

    @Override
    public Allocation<CpuBuffer> upload(HostTensor host) {
        MemorySegment source = host.segment();
        if (source.isReadOnly() && source.isNative()) {
            return Allocation.unowned(new CpuBuffer(source));
        }
        Allocation<CpuBuffer> a = allocate(host.shape(), host.dtype());
        MemorySegment.copy(source, 0, a.buffer().segment(), 0, a.nativeBytes());
        return a;
    }

    @Override
    public void download(CpuBuffer source, HostTensor destination) {
        MemorySegment s = source.segment();
        MemorySegment.copy(s, 0, destination.segment(), 0, s.byteSize());
    }

    /** Copies bytes between tensors' memory (row gathers of batched decode steps, state backups). */
    static void copy(CpuBuffer source, long sourceOffset, CpuBuffer destination, long destinationOffset, long bytes) {
        MemorySegment.copy(source.segment(), sourceOffset, destination.segment(), destinationOffset, bytes);
    }
}
