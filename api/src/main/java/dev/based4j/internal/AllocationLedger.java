package dev.based4j.internal;

import dev.based4j.Allocations;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One backend's count of live native memory, and the set of what is still live so that closing the backend frees
 * it. Reports a tensor collected without {@code close()} once per backend through {@link System.Logger}.
 */
final class AllocationLedger {
    private static final System.Logger LOG = System.getLogger("dev.based4j.leaks");

    private final String backendName;
    private final Set<TensorMemory<?>> live = ConcurrentHashMap.newKeySet();
    private final AtomicLong liveHandles = new AtomicLong();
    private final AtomicLong liveBytes = new AtomicLong();
    private final AtomicLong allocated = new AtomicLong();
    private final AtomicLong leaked = new AtomicLong();
    private final AtomicBoolean leakReported = new AtomicBoolean();
    private final AtomicBoolean freeFailureReported = new AtomicBoolean();
    private final List<String> leakWarnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean closed;

    AllocationLedger(String backendName) {
        this.backendName = backendName;
    }

    /**
     * Counts a new allocation and keeps it for freeing at close.
     *
     * @throws IllegalStateException (after freeing the memory) when the backend was closed meanwhile
     */
    void add(TensorMemory<?> memory) {
        allocated.incrementAndGet();
        liveHandles.incrementAndGet();
        liveBytes.addAndGet(memory.bytes());
        live.add(memory);
        if (closed) {
            memory.free(TensorMemory.Reason.BACKEND_CLOSED);
            throw new IllegalStateException("backend: " + backendName
                    + " was closed while a tensor was being allocated");
        }
    }

    void resized(long deltaBytes) {
        liveBytes.addAndGet(deltaBytes);
    }

    void freed(TensorMemory<?> memory, long bytes, TensorMemory.Reason why) {
        live.remove(memory);
        liveHandles.decrementAndGet();
        liveBytes.addAndGet(-bytes);
        if (why == TensorMemory.Reason.COLLECTED) {
            leaked.incrementAndGet();
            if (leakReported.compareAndSet(false, true)) {
                String message = "backend " + backendName + ": " + memory.describe()
                        + " was garbage-collected without close(); the cleaner freed its " + bytes
                        + " bytes. Close tensors and states when done (try-with-resources). Reported once per"
                        + " backend; Backend.allocations().leakedHandles() counts every such tensor.";
                leakWarnings.add(message);
                LOG.log(Level.WARNING, message);
            }
        }
    }

    void freeFailed(String what, Throwable error) {
        if (freeFailureReported.compareAndSet(false, true)) {
            LOG.log(Level.WARNING, "backend " + backendName + ": freeing " + what + " failed (reported once)", error);
        }
    }

    /** Frees everything still live; later allocations are refused. */
    void closeAll() {
        closed = true;
        List<TensorMemory<?>> remaining = new ArrayList<>(live);
        RuntimeException first = null;
        for (TensorMemory<?> m : remaining) {
            try {
                m.free(TensorMemory.Reason.BACKEND_CLOSED);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** @return the warnings logged about leaked tensors (at most one) */
    List<String> leakWarnings() {
        return List.copyOf(leakWarnings);
    }

    Allocations snapshot() {
        return new Allocations(true, liveHandles.get(), liveBytes.get(), allocated.get(), leaked.get());
    }
}
