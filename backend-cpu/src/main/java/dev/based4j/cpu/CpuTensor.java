package dev.based4j.cpu;

import dev.based4j.spi.AbstractTensor;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import java.lang.foreign.MemorySegment;

/**
 * A tensor of the CPU backend: row-major elements of its {@link DType} in native memory of its own shared
 * {@link java.lang.foreign.Arena} (recycled through the backend's {@link SegmentCache}), zero-filled when allocated and freed when closed (or when its backend is closed). Any thread
 * may use it; using it after {@link #close()} throws {@link IllegalStateException}.
 */
public final class CpuTensor extends AbstractTensor {
    private final SegmentCache.Block block;
    private final MemorySegment segment;
    private final CpuBackend owner;

    CpuTensor(Shape shape, DType dtype, CpuBackend owner) {
        super(shape, dtype, owner);
        this.owner = owner;
        long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
        // zero-filled, as Backend.allocate promises
        this.block = owner.segments().take(bytes);
        this.segment = block.segment();
    }

    /**
     * A view of read-only memory the tensor does not own (for example memory-mapped weights): nothing is copied and
     * closing frees nothing; the memory must outlive the tensor. Kernels only read such a tensor (weights); a write
     * fails, as the memory is read-only.
     */
    CpuTensor(Shape shape, DType dtype, CpuBackend owner, MemorySegment readOnly) {
        super(shape, dtype, owner);
        this.owner = owner;
        this.segment = readOnly;
        this.block = null;
    }

    /** @return the native memory; only valid while the tensor is open */
    MemorySegment segment() {
        return segment;
    }

    @Override
    protected void release() {
        owner.forget(this);
        if (block != null) {
            owner.segments().give(block);
        }
    }
}
