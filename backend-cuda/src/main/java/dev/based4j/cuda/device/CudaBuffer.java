package dev.based4j.cuda.device;

/**
 * The memory of one CUDA tensor: a {@code cuMemAlloc} allocation holding its elements row-major. The handle the
 * kernel families receive in their calls; based4j's tensor owns it and frees it through the allocation's free
 * action.
 *
 * @param pointer the {@code CUdeviceptr} of the first element
 * @param bytes size of the allocation
 */
public record CudaBuffer(long pointer, long bytes) {
    /**
     * Validates.
     *
     * @throws IllegalArgumentException when {@code pointer} is 0 or {@code bytes} is not positive
     */
    public CudaBuffer {
        if (pointer == 0) {
            throw new IllegalArgumentException("pointer: expected a device allocation, got 0");
        }
        if (bytes <= 0) {
            throw new IllegalArgumentException("bytes: expected > 0, got " + bytes);
        }
    }

    /**
     * @return whether this is the memory of {@code other} (a kernel called with an output that is one of its inputs
     *     runs in place)
     */
    public boolean sameMemory(CudaBuffer other) {
        return other != null && other.pointer == pointer;
    }

    @Override
    public String toString() {
        return "CudaBuffer[0x" + Long.toHexString(pointer) + ", " + bytes + " bytes]";
    }
}
