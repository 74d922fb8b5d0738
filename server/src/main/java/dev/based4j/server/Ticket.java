package dev.based4j.server;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A submitted job as its requester sees it: the events the scheduler sends (tokens, then one
 * {@link GenerationEvent.Done}) and a way to cancel it. Thread-safe.
 */
public final class Ticket {
    private final BlockingQueue<GenerationEvent> events = new LinkedBlockingQueue<>();
    private final Runnable wake;
    private final long arrivalNanos;
    private volatile GenerationEvent.FinishReason cancelled;

    Ticket(Runnable wake, long arrivalNanos) {
        this.wake = wake;
        this.arrivalNanos = arrivalNanos;
    }

    /**
     * @return the next event, waiting for it as long as needed
     * @throws InterruptedException when the waiting thread is interrupted
     */
    public GenerationEvent next() throws InterruptedException {
        return events.take();
    }

    /** @return the next event, or null when none came within {@code timeoutNanos} */
    public GenerationEvent poll(long timeoutNanos) throws InterruptedException {
        return events.poll(timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Asks the scheduler to drop the sequence; it frees the slot before its next step and ends the events with
     * {@link GenerationEvent.FinishReason#CANCELLED}. Idempotent; does nothing once the sequence has ended.
     */
    public void cancel() {
        end(GenerationEvent.FinishReason.CANCELLED);
    }

    /**
     * Like {@link #cancel()}, for a requester that found a stop string in the text: the sequence ends with
     * {@link GenerationEvent.FinishReason#STOP}.
     */
    public void stop() {
        end(GenerationEvent.FinishReason.STOP);
    }

    private void end(GenerationEvent.FinishReason reason) {
        if (cancelled == null) {
            cancelled = reason;
        }
        wake.run();
    }

    /** @return whether {@link #cancel()} or {@link #stop()} was called */
    public boolean isCancelled() {
        return cancelled != null;
    }

    /** @return the reason {@link #cancel()} or {@link #stop()} gave, or null */
    GenerationEvent.FinishReason cancelReason() {
        return cancelled;
    }

    /** @return {@link System#nanoTime()} when the job was submitted */
    public long arrivalNanos() {
        return arrivalNanos;
    }

    void send(GenerationEvent e) {
        events.add(e);
    }
}
