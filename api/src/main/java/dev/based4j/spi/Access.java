package dev.based4j.spi;

import dev.based4j.tensor.Tensor;
import java.lang.ref.Reference;

/**
 * The tensors one kernel call reads and writes, held from validation until the kernel returns. Holding them has
 * two purposes: a tensor written here cannot be written by another thread at the same time (the second call fails
 * with a message instead of corrupting the result), and no tensor of the call becomes unreachable, and so freed by
 * the cleaner, while the kernel still uses its memory.
 */
final class Access implements AutoCloseable {
    private Tensor[] tensors = new Tensor[8];
    private boolean[] written = new boolean[8];
    private int count;

    /** Claims {@code t} for writing; a no-op for null. */
    Access write(String name, Tensor t) {
        if (t instanceof AbstractTensor a) {
            a.beginWrite(name);
        }
        return add(t, true);
    }

    /** Checks that nobody else writes {@code t} and keeps it reachable; a no-op for null. */
    Access read(String name, Tensor t) {
        if (t instanceof AbstractTensor a) {
            a.checkNotWritten(name);
        }
        return add(t, false);
    }

    private Access add(Tensor t, boolean write) {
        if (t == null) {
            return this;
        }
        if (count == tensors.length) {
            tensors = java.util.Arrays.copyOf(tensors, count * 2);
            written = java.util.Arrays.copyOf(written, count * 2);
        }
        tensors[count] = t;
        written[count] = write;
        count++;
        return this;
    }

    /** Releases the write claims. */
    @Override
    public void close() {
        for (int i = 0; i < count; i++) {
            if (written[i] && tensors[i] instanceof AbstractTensor a) {
                a.endWrite();
            }
            Reference.reachabilityFence(tensors[i]);
        }
    }
}
