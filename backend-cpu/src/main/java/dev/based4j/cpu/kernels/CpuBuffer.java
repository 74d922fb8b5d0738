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
            TaylorPacking.unpack(segment, packedTaylor);
            packedTaylor = 0;
        }
    }

    /**
     * @return the memory of a linear-attention state tensor (or the fused layer's far state) as the kernels take it:
     *     packed when {@link TaylorPacking#applies} (it stays packed until something else reads it), else canonical
     */
    MemorySegment state(DType dtype, FeatureMap map) {
        return TaylorPacking.applies(dtype, map) ? packedTaylor(map.inputDim()) : segment();
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
