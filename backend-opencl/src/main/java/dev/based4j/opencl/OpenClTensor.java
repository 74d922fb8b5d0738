package dev.based4j.opencl;

import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.spi.AbstractTensor;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;

/**
 * A tensor in one OpenCL buffer of its backend's context, row-major and contiguous. Closing releases the buffer
 * (deterministically; kernels already enqueued on it still complete); closing the backend releases every tensor
 * still open, and the cleaner releases one that became unreachable without being closed (counted in
 * {@code allocations()}).
 */
public final class OpenClTensor extends AbstractTensor {
    private final ClBuffer buffer;

    OpenClTensor(Shape shape, DType dtype, OpenClBackend owner, ClBuffer buffer) {
        // the free action releases the buffer, never the tensor: the cleaner needs the tensor unreachable
        super(shape, dtype, owner, buffer.byteSize(), buffer::close);
        this.buffer = buffer;
    }

    /** @return the {@code cl_mem} handle, for interoperation with other OpenCL code on the same context */
    public long memory() {
        return buffer.memory();
    }

    /** @return the buffer, as kernel argument */
    ClBuffer buffer() {
        return buffer;
    }

    /** @return the buffer's size in bytes */
    public long byteSize() {
        return buffer.byteSize();
    }
}
