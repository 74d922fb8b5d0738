package dev.based4j.cpu;

import dev.based4j.spi.AbstractTensor;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import java.lang.foreign.MemorySegment;

/**
 * A tensor of the CPU backend: row-major elements of its {@link DType} in native memory of its own shared
 * {@link java.lang.foreign.Arena} (recycled through the backend's {@link SegmentCache}), zero-filled when allocated.
 * The memory goes back to the cache when the tensor is closed, when its backend is closed, or, for a tensor that
 * became unreachable without being closed, when the cleaner finds it (counted in {@code allocations()}). Any thread
 * may use it; using it after {@link #close()} throws {@link IllegalStateException}.
 */
public final class CpuTensor extends AbstractTensor {
    private final MemorySegment segment;

    private CpuTensor(Shape shape, DType dtype, CpuBackend owner, MemorySegment segment, long ownedBytes,
            Runnable free) {
        super(shape, dtype, owner, ownedBytes, free);
        this.segment = segment;
    }

    /** A zero-filled tensor in memory of its own. */
    static CpuTensor allocate(Shape shape, DType dtype, CpuBackend owner) {
        long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
        SegmentCache cache = owner.segments();
        // zero-filled, as Backend.allocate promises
        SegmentCache.Block block = cache.take(bytes);
        // the free action names the cache and the block, never the tensor: the cleaner needs the tensor unreachable
        return new CpuTensor(shape, dtype, owner, block.segment(), bytes, () -> cache.give(block));
    }

    /**
     * A view of read-only memory the tensor does not own (for example memory-mapped weights): nothing is copied and
     * closing frees nothing; the memory must outlive the tensor. Kernels only read such a tensor (weights); a write
     * fails, as the memory is read-only.
     */
    static CpuTensor view(Shape shape, DType dtype, CpuBackend owner, MemorySegment readOnly) {
        return new CpuTensor(shape, dtype, owner, readOnly, 0, () -> {});
    }

    /** @return the native memory; only valid while the tensor is open */
    MemorySegment segment() {
        return segment;
    }
}
