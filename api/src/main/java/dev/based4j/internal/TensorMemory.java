package dev.based4j.internal;

import dev.based4j.spi.Allocation;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The memory behind one {@link DeviceTensor}: the engine's allocation, the ledger that counts it, and why it was
 * freed. It is also the tensor's cleaning action, so it never refers to the tensor: a reference would keep the tensor
 * reachable and the cleaner would never run. A state's memory can be replaced by a backup of the same size when a
 * kernel failed part-way ({@link #replace}).
 *
 * @param <B> the engine's memory handle
 */
final class TensorMemory<B> implements Runnable {
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "based4j-cleaner");
        t.setDaemon(true);
        return t;
    });

    /** Why the memory was freed. */
    enum Reason {
        /** The cleaner found the tensor unreachable: nobody called close(). */
        COLLECTED,
        /** {@code Tensor.close()}. */
        CLOSED,
        /** The owning backend was closed while the tensor was still open. */
        BACKEND_CLOSED
    }

    private final AllocationLedger ledger;
    private final String description;
    private final AtomicBoolean freed = new AtomicBoolean();
    private volatile Allocation<B> allocation;
    private volatile Reason reason = Reason.COLLECTED;
    private Cleaner.Cleanable cleanable;

    TensorMemory(AllocationLedger ledger, Allocation<B> allocation, String description) {
        this.ledger = ledger;
        this.allocation = allocation;
        this.description = description;
    }

    /** Registers the cleaning action for {@code tensor}; called once, by the tensor's constructor. */
    void watch(Object tensor) {
        cleanable = CLEANER.register(tensor, this);
    }

    B buffer() {
        return allocation.buffer();
    }

    long bytes() {
        return allocation.nativeBytes();
    }

    boolean isFreed() {
        return freed.get();
    }

    /**
     * Puts {@code next} (memory of the same shape and type) in place of the current memory and frees the current one.
     * The caller holds the tensor's write claim, so no kernel reads the memory meanwhile.
     */
    void replace(Allocation<B> next) {
        Allocation<B> old;
        synchronized (this) {
            old = allocation;
            allocation = next;
        }
        ledger.resized(next.nativeBytes() - old.nativeBytes());
        old.free().run();
    }

    /** Frees now (at most once, whoever calls first), recording why. */
    void free(Reason why) {
        reason = why;
        if (cleanable != null) {
            cleanable.clean();
        } else {
            run();
        }
    }

    /** The cleaning action: frees the memory and updates the ledger, at most once. */
    @Override
    public void run() {
        if (!freed.compareAndSet(false, true)) {
            return;
        }
        Reason why = reason;
        Allocation<B> a;
        synchronized (this) {
            a = allocation;
        }
        try {
            a.free().run();
        } catch (RuntimeException | Error e) {
            if (why == Reason.CLOSED) {
                throw e;
            }
            ledger.freeFailed(description, e);
        } finally {
            ledger.freed(this, a.nativeBytes(), why);
        }
    }

    /** @return the tensor's backend, type and shape, for messages */
    String describe() {
        return description;
    }
}
