package dev.based4j.spi;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The native memory of one {@link AbstractTensor}: how to free it, how many bytes it holds and the ledger that
 * counts it. It is also the tensor's cleaning action, so it must never refer to the tensor: a reference would keep
 * the tensor reachable and the cleaner would never run.
 */
final class NativeMemory implements Runnable {
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
    private final long bytes;
    private final Runnable free;
    private final String tensorClass;
    private final Shape shape;
    private final DType dtype;
    private final AtomicBoolean freed = new AtomicBoolean();
    private volatile Reason reason = Reason.COLLECTED;
    private Cleaner.Cleanable cleanable;

    NativeMemory(AllocationLedger ledger, long bytes, Runnable free, String tensorClass, Shape shape, DType dtype) {
        this.ledger = ledger;
        this.bytes = bytes;
        this.free = free;
        this.tensorClass = tensorClass;
        this.shape = shape;
        this.dtype = dtype;
    }

    /** Registers the cleaning action for {@code tensor}; called once, by the tensor's constructor. */
    void watch(Object tensor) {
        cleanable = CLEANER.register(tensor, this);
    }

    long bytes() {
        return bytes;
    }

    boolean isFreed() {
        return freed.get();
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
        try {
            if (free != null) {
                free.run();
            }
        } catch (RuntimeException | Error e) {
            if (why == Reason.CLOSED) {
                throw e;
            }
            ledger.freeFailed(describe(), e);
        } finally {
            ledger.freed(this, why);
        }
    }

    /** @return the tensor's class, type and shape, for messages */
    String describe() {
        return tensorClass + "[" + dtype.label() + " " + shape + "]";
    }
}
