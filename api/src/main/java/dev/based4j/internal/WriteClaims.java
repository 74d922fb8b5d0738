package dev.based4j.internal;

import dev.based4j.tensor.Tensor;
import java.lang.ref.Reference;
import java.util.Arrays;

/**
 * The tensors one kernel call reads and writes, held from validation until the kernel returns. Holding them has two
 * purposes: a tensor written here cannot be written by another thread at the same time (the second call fails with a
 * message instead of corrupting the result), and no tensor of the call becomes unreachable, and so freed by the
 * cleaner, while the kernel still uses its memory.
 */
final class WriteClaims implements AutoCloseable {
    private Tensor[] tensors = new Tensor[8];
    private boolean[] written = new boolean[8];
    private int count;

    /** Claims {@code t} for writing; a no-op for null. */
    WriteClaims write(String name, Tensor t) {
        if (t instanceof DeviceTensor<?> d) {
            d.beginWrite(name);
        }
        return add(t, true);
    }

    /** Checks that nobody else writes {@code t} and keeps it reachable; a no-op for null. */
    WriteClaims read(String name, Tensor t) {
        if (t instanceof DeviceTensor<?> d) {
            d.checkNotWritten(name);
        }
        return add(t, false);
    }

    private WriteClaims add(Tensor t, boolean write) {
        if (t == null) {
            return this;
        }
        if (count == tensors.length) {
            tensors = Arrays.copyOf(tensors, count * 2);
            written = Arrays.copyOf(written, count * 2);
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
            if (written[i] && tensors[i] instanceof DeviceTensor<?> d) {
                d.endWrite();
            }
            Reference.reachabilityFence(tensors[i]);
        }
    }
}
