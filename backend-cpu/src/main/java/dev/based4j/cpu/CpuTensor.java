package dev.based4j.cpu;

import dev.based4j.cpu.kernels.TaylorPacking;
import dev.based4j.spi.AbstractTensor;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A tensor of the CPU backend: row-major elements of its {@link DType} in native memory of its own shared
 * {@link Arena} (recycled through the backend's {@link SegmentCache}), zero-filled when allocated and freed when closed, when its backend is closed, or by the cleaner
 * when it becomes unreachable without being closed (counted in {@code allocations()}). Any thread may use it;
 * using it after {@link #close()} throws {@link IllegalStateException}.
 */
public final class CpuTensor extends AbstractTensor {
    private final MemorySegment segment;
    /**
     * 0 when the memory is in the canonical layout; {@code f} when it holds a float32 linear-attention state in the
     * {@link TaylorPacking} layout of Taylor dimension {@code f}, which only the linear-attention kernels read.
     */
    private volatile int packedTaylor;

    private CpuTensor(Shape shape, DType dtype, CpuBackend owner, MemorySegment segment, long ownedBytes,
            Runnable free) {
        super(shape, dtype, owner, ownedBytes, free);
        this.segment = segment;
    }

    /** A zero-filled tensor in memory of its own. */
    static CpuTensor allocate(Shape shape, DType dtype, CpuBackend owner) {
        long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
        // zero-filled, as Backend.allocate promises; recycled memory of closed tensors when there is some
        SegmentCache segments = owner.segments();
        SegmentCache.Block block = segments.take(bytes);
        // the free action hands the block back, never the tensor: the cleaner needs the tensor unreachable
        return new CpuTensor(shape, dtype, owner, block.segment(), bytes, () -> segments.give(block));
    }

    /**
     * A view of read-only memory the tensor does not own (for example memory-mapped weights): nothing is copied and
     * closing frees nothing; the memory must outlive the tensor. Kernels only read such a tensor (weights); a write
     * fails, as the memory is read-only.
     */
    static CpuTensor view(Shape shape, DType dtype, CpuBackend owner, MemorySegment readOnly) {
        return new CpuTensor(shape, dtype, owner, readOnly, 0, () -> {});
    }

    /** @return the native memory in the canonical layout; only valid while the tensor is open */
    MemorySegment segment() {
        if (packedTaylor != 0) {
            unpack();
        }
        return segment;
    }

    private synchronized void unpack() {
        if (packedTaylor != 0) {
            TaylorPacking.unpack(segment, packedTaylor);
            packedTaylor = 0;
        }
    }

    /**
     * @return the native memory in the {@link TaylorPacking} layout of Taylor dimension {@code f} (rows of
     *     {@code 1 + f + f²} floats), packed first when it is not yet
     */
    synchronized MemorySegment packedTaylor(int f) {
        if (packedTaylor != f) {
            unpack();
            TaylorPacking.pack(segment, f);
            packedTaylor = f;
        }
        return segment;
    }
}
