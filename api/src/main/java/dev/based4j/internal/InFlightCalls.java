package dev.based4j.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Counts the public calls of a backend that are running, so that closing the backend waits for them (it never frees
 * memory under a running kernel) and refuses calls made after it. A call costs two atomic updates; the lock is
 * taken only once the backend is closing.
 */
final class InFlightCalls {
    private final AtomicInteger running = new AtomicInteger();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private final String backendName;
    private volatile boolean closed;

    InFlightCalls(String backendName) {
        this.backendName = backendName;
    }

    /**
     * Counts a call that starts now.
     *
     * @throws IllegalStateException when the backend was closed
     */
    void enter() {
        if (closed) {
            throw closedError();
        }
        running.incrementAndGet();
        if (closed) {
            // close() may have seen no call running and freed the memory: this call must not start
            exit();
            throw closedError();
        }
    }

    /** Counts the end of a call counted by {@link #enter()}. */
    void exit() {
        if (running.decrementAndGet() == 0 && closed) {
            lock.lock();
            try {
                idle.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Refuses calls from now on and waits up to {@code timeoutSeconds} for the running ones to finish.
     *
     * @return whether this call closed it (false when it was closed already)
     */
    boolean closeAndAwait(long timeoutSeconds) {
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            closed = true;
            long nanos = TimeUnit.SECONDS.toNanos(timeoutSeconds);
            boolean interrupted = false;
            while (running.get() > 0 && nanos > 0) {
                try {
                    nanos = idle.awaitNanos(nanos);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    boolean isClosed() {
        return closed;
    }

    /** @return the exception for a call on a closed backend */
    IllegalStateException closedError() {
        return new IllegalStateException("backend: " + backendName + " was closed and cannot be used again");
    }
}
