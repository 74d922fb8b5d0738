package dev.based4j.cpu.kernels;

import dev.based4j.featuremap.FeatureMap;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The memory of one CPU tensor: row-major elements in native memory, and the layout they are in. A float32
 * linear-attention state (or the far state of the fused layer) of the Taylor map stays in the packed
 * {@link TaylorPacking} layout between the kernels that update it; everything else that reads the memory
 * ({@link #segment()}: downloads, copies, other kernels) sees the canonical layout, unpacked on first read.
 */
public final class CpuBuffer {
    private final MemorySegment segment;
    /**
     * 0 when the memory is in the canonical layout; {@code f} when it holds a float32 linear-attention state in the
     * {@link TaylorPacking} layout of Taylor dimension {@code f}, which only the linear-attention kernels read.
     */
    private volatile int packedTaylor;
    /** Rows per packed block when {@link #packedTaylor} is not 0. */
    private int packedBlockRows;

    /** @param segment the tensor's memory, sized for its shape and type */
    public CpuBuffer(MemorySegment segment) {
        this.segment = segment;
    }

    /** @return the native memory in the canonical layout; only valid while the tensor is open */
    public MemorySegment segment() {
        if (packedTaylor != 0) {
            unpack();
        }
        return segment;
    }

    private synchronized void unpack() {
        if (packedTaylor != 0) {
            TaylorPacking.unpack(segment, packedTaylor, packedBlockRows);
            packedTaylor = 0;
        }
    }

    /**
     * @return the memory of a linear-attention state tensor (or the fused layer's far state) as the kernels take it:
     *     packed when {@link TaylorPacking#applies} (it stays packed until something else reads it), else canonical
     * @param blockRows rows of one head's block: {@code dv} for {@code kv}, 1 for {@code z}
     */
    MemorySegment state(DType dtype, FeatureMap map, int blockRows) {
        return TaylorPacking.applies(dtype, map) ? packedTaylor(map.inputDim(), blockRows) : segment();
    }

    /**
     * @return the native memory in the {@link TaylorPacking} layout of Taylor dimension {@code f} in blocks of
     *     {@code blockRows} rows, packed first when it is not yet
     */
    synchronized MemorySegment packedTaylor(int f, int blockRows) {
        if (packedTaylor != f || packedBlockRows != blockRows) {
            unpack();
            TaylorPacking.pack(segment, f, blockRows);
            packedBlockRows = blockRows;
            packedTaylor = f;
        }
        return segment;
    }
}
