package dev.based4j.cpu.kernels;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * A fixed pool of worker threads that runs the items of one kernel call in parallel. The calling thread works
 * too and returns when every item is done; items are handed out one by one, so uneven items balance. Problems
 * too small to pay for the hand-off run inline on the caller. One kernel call is one {@link #forEach}: kernels
 * never submit work per token.
 */
public final class CpuPool implements AutoCloseable {
    /** Below this much work (multiply-adds, roughly) in all, a call runs inline. */
    static final long INLINE_WORK = 1L << 15;

    private final int threads;
    private final ExecutorService executor;

    /**
     * @param threads workers including the calling thread; 1 runs everything inline
     * @throws IllegalArgumentException when {@code threads} is below 1
     */
    public CpuPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + threads);
        }
        this.threads = threads;
        if (threads == 1) {
            this.executor = null;
        } else {
            AtomicInteger count = new AtomicInteger();
            ThreadFactory factory = r -> {
                Thread t = new Thread(r, "based4j-cpu-" + count.incrementAndGet());
                t.setDaemon(true);
                return t;
            };
            this.executor = Executors.newFixedThreadPool(threads - 1, factory);
        }
    }

    /** @return threads that work on one call, the caller included */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} for every index in {@code [0, count)}, in parallel when there is enough work, and
     * returns when all are done. The first exception thrown by an item is rethrown here after the others
     * finished; items not yet started are then skipped.
     *
     * @param count number of independent items
     * @param workPerItem rough cost of one item (multiply-adds) for the inline decision
     */
    public void forEach(int count, long workPerItem, IntConsumer body) {
        if (count <= 0) {
            return;
        }
        int helpers = Math.min(threads, count) - 1;
        if (helpers == 0 || executor == null || (double) count * Math.max(1, workPerItem) < INLINE_WORK) {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
            return;
        }
        Batch batch = new Batch(count, body);
        for (int h = 0; h < helpers; h++) {
            try {
                executor.execute(batch::work);
            } catch (RejectedExecutionException e) {
                break; // the pool is shutting down: the caller finishes the items alone
            }
        }
        batch.work();
        batch.await();
    }

    /** Stops the workers; items in flight finish. Idempotent. */
    @Override
    public void close() {
        if (executor != null) {
            executor.shutdown();
        }
    }

    /** The items of one call and their progress. */
    private static final class Batch {
        private final int count;
        private final IntConsumer body;
        private final AtomicInteger next = new AtomicInteger();
        private final CountDownLatch done;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Batch(int count, IntConsumer body) {
            this.count = count;
            this.body = body;
            this.done = new CountDownLatch(count);
        }

        void work() {
            for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                try {
                    if (failure.get() == null) {
                        body.accept(i);
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            }
        }

        void await() {
            // wait without giving up: workers still write into the caller's buffers
            boolean interrupted = false;
            while (true) {
                try {
                    done.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
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
