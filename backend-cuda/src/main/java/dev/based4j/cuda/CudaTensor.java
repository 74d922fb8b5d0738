package dev.based4j.cuda;

import dev.based4j.spi.AbstractTensor;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;

/**
 * A tensor in device memory: one {@code cuMemAlloc} allocation, row-major, freed on {@link #close()}, when the
 * backend is closed, or by the cleaner when it became unreachable without being closed (counted in
 * {@code allocations()}).
 */
public final class CudaTensor extends AbstractTensor {
    private final long pointer;
    private final long bytes;

    CudaTensor(Shape shape, DType dtype, CudaBackend owner, long pointer, long bytes) {
        // the free action names the pointer and the backend, never the tensor: the cleaner needs it unreachable
        super(shape, dtype, owner, bytes, () -> owner.free(pointer));
        this.pointer = pointer;
        this.bytes = bytes;
    }

    /** @return the {@code CUdeviceptr} of the first element */
    public long pointer() {
        return pointer;
    }

    /** @return size of the allocation */
    public long bytes() {
        return bytes;
    }
}
