package dev.based4j.cpu.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A fixed set of worker threads that runs the items of one kernel call in parallel. The calling thread works too
 * and returns when every item is done. Problems too small to pay for the hand-off run inline on the caller. One
 * kernel call is one {@link #forEach}: kernels never submit work per token.
 *
 * <p>Decode steps are tens of microseconds, about what it costs to wake a parked thread; so a worker that has just
 * finished polls for the next call for {@link #SPIN_NANOS} before it parks (as OpenMP runtimes do), and a model's
 * back-to-back kernel calls find their workers awake. One call runs at a time: a call made while another runs
 * (from a second thread using the same backend, or from inside an item) runs inline on its own thread.
 */
public final class CpuPool implements AutoCloseable {
    /** Below this much work (multiply-adds, roughly) in all, a call runs inline. */
    static final long INLINE_WORK = 1L << 15;

    /** How long an idle worker keeps polling for the next call before it parks. */
    static final long SPIN_NANOS = 200_000;

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock calling = new ReentrantLock();
    /** The call in progress, or the last one; workers compare its number with the last they joined. */
    private volatile Job job;
    private volatile boolean closed;

    /**
     * @param threads workers including the calling thread; 1 runs everything inline
     * @throws IllegalArgumentException when {@code threads} is below 1
     */
    public CpuPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int w = 0; w < workers.length; w++) {
            int index = w + 1;
            Thread t = new Thread(() -> workLoop(index), "based4j-cpu-" + index);
            t.setDaemon(true);
            workers[w] = t;
            t.start();
        }
    }

    /** @return threads that work on one call, the caller included */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} for every index in {@code [0, count)}, in parallel when there is enough work, and returns
     * when all are done. Items are handed out one by one, so uneven items balance. The first exception thrown by an
     * item is rethrown here after the others finished; items not yet started are then skipped.
     *
     * @param count number of independent items
     * @param workPerItem rough cost of one item (multiply-adds) for the inline decision
     */
    public void forEach(int count, long workPerItem, IntConsumer body) {
        run(count, workPerItem, body, false);
    }

    /**
     * {@link #forEach}, with the items split into one contiguous range per thread, the calling thread taking the
     * first: for steps repeated on the same data (decode), so that each core works on the same part of the state
     * every step and keeps it in its own cache, where handing items out one by one would move them between cores
     * from step to step.
     */
    public void forEachInRanges(int count, long workPerItem, IntConsumer body) {
        run(count, workPerItem, body, true);
    }

    private void run(int count, long workPerItem, IntConsumer body, boolean ranges) {
        if (count <= 0) {
            return;
        }
        int parts = Math.min(threads, count);
        // a call from inside an item (the lock is reentrant) runs inline too: publishing it would take the workers
        // off the call that contains it
        if (parts == 1 || closed || (double) count * Math.max(1, workPerItem) < INLINE_WORK
                || calling.isHeldByCurrentThread() || !calling.tryLock()) {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
            return;
        }
        try {
            Job previous = job;
            Job j = new Job(previous == null ? 1 : previous.number + 1, count, parts, ranges, body,
                    Thread.currentThread());
            job = j;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            j.participate(0);
            j.await();
        } finally {
            calling.unlock();
        }
    }

    private void workLoop(int index) {
        long joined = 0;
        while (!closed) {
            Job j = job;
            if (j != null && j.number != joined) {
                joined = j.number;
                j.participate(index);
                continue;
            }
            long idleSince = System.nanoTime();
            while (!closed && job == j && System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
            }
            if (!closed && job == j) {
                // a call published after this check unparks this thread, so the park returns at once
                LockSupport.park(this);
            }
        }
    }

    /** Stops the workers; a call in flight finishes, later calls run inline. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }

    /** The items of one call and their progress. */
    private static final class Job {
        final long number;
        private final int count;
        private final int parts;
        private final boolean ranges;
        private final IntConsumer body;
        private final Thread caller;
        private final AtomicInteger next = new AtomicInteger();
        /** Items (one-by-one mode) or parts (ranges mode) not finished yet. */
        private final AtomicInteger remaining;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(long number, int count, int parts, boolean ranges, IntConsumer body, Thread caller) {
            this.number = number;
            this.count = count;
            this.parts = parts;
            this.ranges = ranges;
            this.body = body;
            this.caller = caller;
            this.remaining = new AtomicInteger(ranges ? parts : count);
        }

        /** The share of thread {@code index} (0 is the caller). */
        void participate(int index) {
            if (ranges) {
                if (index < parts) {
                    int from = (int) ((long) index * count / parts);
                    int to = (int) ((long) (index + 1) * count / parts);
                    try {
                        for (int i = from; i < to && failure.get() == null; i++) {
                            body.accept(i);
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    } finally {
                        finished();
                    }
                }
                return;
            }
            for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                try {
                    if (failure.get() == null) {
                        body.accept(i);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    finished();
                }
            }
        }

        private void finished() {
            if (remaining.decrementAndGet() == 0) {
                LockSupport.unpark(caller);
            }
        }

        /** Waits for every item; rethrows the first failure. Interrupts are kept for the caller to see. */
        void await() {
            long start = System.nanoTime();
            while (remaining.get() > 0) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException("cpu kernel failed: " + t, t);
            }
        }
    }
}
