package dev.based4j.spi;

/**
 * Memory a backend allocated for one tensor: its own handle to the memory (a {@code MemorySegment}, an OpenCL
 * buffer, a device pointer, ...), the bytes of native memory that handle holds, and the action that frees it.
 * based4j wraps it in a {@link dev.based4j.tensor.Tensor} that counts it in {@link dev.based4j.Backend#allocations()}
 * and runs {@code free} exactly once: when the tensor is closed, when its backend is closed, or, for a tensor that
 * became unreachable without being closed, from a {@link java.lang.ref.Cleaner}.
 *
 * <p>{@code free} must not refer to the tensor (it never sees it) and may run on any thread.
 *
 * @param buffer the backend's handle; never null
 * @param nativeBytes bytes of native memory the handle holds (0 for a view of memory it does not own, or heap memory
 *     the garbage collector frees)
 * @param free frees the memory; runs once
 * @param <B> the backend's type of memory handle
 */
public record Allocation<B>(B buffer, long nativeBytes, Runnable free) {
    /**
     * Validates. When validation fails, {@code free} has run (the memory would otherwise leak).
     *
     * @throws IllegalArgumentException naming the field that is null or negative
     */
    public Allocation {
        String problem = buffer == null ? "buffer: expected the backend's memory handle, got null"
                : free == null ? "free: expected an action that frees the memory, got null"
                : nativeBytes < 0 ? "nativeBytes: expected >= 0, got " + nativeBytes : null;
        if (problem != null) {
            if (free != null) {
                free.run();
            }
            throw new IllegalArgumentException(problem);
        }
    }

    /** @return memory that nothing needs to free: heap memory, or a view of memory owned elsewhere */
    public static <B> Allocation<B> unowned(B buffer) {
        return new Allocation<>(buffer, 0, () -> {});
    }
}
