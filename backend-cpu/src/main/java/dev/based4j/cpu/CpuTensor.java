package dev.based4j.cpu;

import dev.based4j.spi.AbstractTensor;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A tensor of the CPU backend: row-major elements of its {@link DType} in native memory of its own shared
 * {@link Arena}, zero-filled when allocated and freed when closed (or when its backend is closed). Any thread
 * may use it; using it after {@link #close()} throws {@link IllegalStateException}.
 */
public final class CpuTensor extends AbstractTensor {
    /** Alignment of every allocation: a cache line, and a full AVX-512 vector. */
    private static final long ALIGNMENT = 64;

    private final Arena arena;
    private final MemorySegment segment;
    private final CpuBackend owner;

    CpuTensor(Shape shape, DType dtype, CpuBackend owner) {
        super(shape, dtype, owner);
        this.owner = owner;
        long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
        Arena a = Arena.ofShared();
        try {
            // Arena.allocate zero-fills: a fresh tensor reads as zeros, as Backend.allocate promises
            this.segment = a.allocate(bytes, ALIGNMENT);
        } catch (RuntimeException | OutOfMemoryError e) {
            a.close();
            throw e;
        }
        this.arena = a;
    }

    /** @return the native memory; only valid while the tensor is open */
    MemorySegment segment() {
        return segment;
    }

    @Override
    protected void release() {
        owner.forget(this);
        arena.close();
    }
}
