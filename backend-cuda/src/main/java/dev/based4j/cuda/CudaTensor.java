package dev.based4j.cuda;

import dev.based4j.spi.AbstractTensor;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;

/** A tensor in device memory: one {@code cuMemAlloc} allocation, row-major, freed on {@link #close()}. */
public final class CudaTensor extends AbstractTensor {
    private final CudaBackend owner;
    private final long pointer;
    private final long bytes;

    CudaTensor(Shape shape, DType dtype, CudaBackend owner, long pointer, long bytes) {
        super(shape, dtype, owner);
        this.owner = owner;
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

    @Override
    protected void release() {
        owner.release(this);
    }
}
