package dev.based4j.opencl.runtime;

import static org.lwjgl.opencl.CL10.clReleaseMemObject;

/**
 * One OpenCL buffer, released exactly once by {@link #close()}. Releasing while enqueued kernels still use it
 * is safe: OpenCL frees the memory when they have finished.
 */
public final class ClBuffer implements ClMemory, AutoCloseable {
    private final long memory;
    private final long byteSize;
    private boolean released;

    ClBuffer(long memory, long byteSize) {
        this.memory = memory;
        this.byteSize = byteSize;
    }

    @Override
    public long memory() {
        if (released) {
            throw new IllegalStateException("buffer: released OpenCL buffer of " + byteSize + " bytes used again");
        }
        return memory;
    }

    /** @return its size in bytes */
    public long byteSize() {
        return byteSize;
    }

    /** Releases the buffer. Idempotent. */
    @Override
    public synchronized void close() {
        if (!released) {
            released = true;
            ClCheck.check(clReleaseMemObject(memory), "clReleaseMemObject");
        }
    }
}
