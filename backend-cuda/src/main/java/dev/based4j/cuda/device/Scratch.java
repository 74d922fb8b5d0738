package dev.based4j.cuda.device;

import java.util.HashMap;
import java.util.Map;

/**
 * Named device buffers that kernels use for intermediates (features, shifted key streams, partial sums), kept
 * between calls and grown on demand, so that a kernel call allocates nothing in the common case. Used only under
 * the backend's lock: every user enqueues on the one stream, so a buffer is reused only after the work that read
 * it was enqueued before.
 */
public final class Scratch implements AutoCloseable {
    private final CudaContext context;
    private final Map<String, long[]> buffers = new HashMap<>();

    /** @param context allocates and frees */
    public Scratch(CudaContext context) {
        this.context = context;
    }

    /**
     * @return a device buffer of at least {@code bytes} for {@code slot}, its old contents undefined
     */
    public long get(String slot, long bytes) {
        long[] b = buffers.get(slot);
        if (b != null && b[1] >= bytes) {
            return b[0];
        }
        if (b != null) {
            // cuMemFree waits for the device, so no enqueued kernel still reads the old buffer
            context.free(b[0]);
            buffers.remove(slot);
        }
        long size = Math.max(bytes, 256);
        long p = context.allocate(size);
        buffers.put(slot, new long[] {p, size});
        return p;
    }

    /** Frees every buffer. */
    @Override
    public void close() {
        for (long[] b : buffers.values()) {
            try {
                context.free(b[0]);
            } catch (RuntimeException ignored) {
                // closing: free the rest
            }
        }
        buffers.clear();
    }
}
