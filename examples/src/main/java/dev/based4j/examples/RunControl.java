package dev.based4j.examples;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Stops a long run cleanly: on Ctrl-C (the JVM's shutdown hook, installed by {@link Based4j#main}, calls
 * {@link #interruptAll()}) or when the run's time limit ({@code --time-limit}) has passed. Long commands call
 * {@link #check()} between steps (a decode step, a prefill chunk, a bench measurement, a recall evaluation, a
 * conformance case); the first check after the stop throws {@link Stopped}, which the command line prints as one
 * line with exit status 130 (interrupted) or 124 (time limit), after the command has printed what it finished.
 * Work inside one step (one kernel call) is not cut short; the shutdown hook waits for it only
 * {@link Based4j#SHUTDOWN_GRACE} and then lets the JVM exit.
 *
 * <p>One control per {@link Based4j#run} call, bound to the calling thread ({@link #current()}); several runs in one
 * JVM (tests, embedding) each have their own.
 */
final class RunControl implements AutoCloseable {
    /** Why a run stopped early. */
    enum Reason {
        /** Ctrl-C (SIGINT) or another request to shut the JVM down. */
        INTERRUPTED("interrupted", 130),
        /** The {@code --time-limit} passed. */
        TIME_LIMIT("stopped at the time limit", 124);

        private final String words;
        private final int status;

        Reason(String words, int status) {
            this.words = words;
            this.status = status;
        }

        /** @return the exit status of a run that stopped for this reason */
        int status() {
            return status;
        }
    }

    /** Thrown by {@link #check()} once the run has been asked to stop. */
    static final class Stopped extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient Reason reason;

        Stopped(Reason reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }

        /** @return why the run stopped */
        Reason reason() {
            return reason;
        }
    }

    private static final Set<RunControl> ACTIVE = ConcurrentHashMap.newKeySet();
    private static final ThreadLocal<RunControl> CURRENT = new ThreadLocal<>();

    private final List<Runnable> onStop = new CopyOnWriteArrayList<>();
    private volatile Reason reason;
    private volatile String limitText;
    private Thread timer;

    private RunControl() {}

    /** @return a control for a run on this thread, registered for Ctrl-C; close it when the run ends */
    static RunControl open() {
        RunControl c = new RunControl();
        ACTIVE.add(c);
        CURRENT.set(c);
        return c;
    }

    /** @return the control of the run on this thread; one that only a time limit can stop when there is none */
    static RunControl current() {
        RunControl c = CURRENT.get();
        return c != null ? c : new RunControl();
    }

    /** Asks every active run to stop (the shutdown hook on Ctrl-C). */
    static void interruptAll() {
        ACTIVE.forEach(c -> c.stop(Reason.INTERRUPTED));
    }

    /**
     * Stops the run when {@code limit} has passed from now.
     *
     * @param limit positive
     * @param text how the user wrote it, for the message
     */
    synchronized void limitTime(Duration limit, String text) {
        Objects.requireNonNull(limit, "limit");
        if (limit.isNegative() || limit.isZero()) {
            throw new IllegalArgumentException("limit: expected a positive duration, got " + limit);
        }
        limitText = text;
        timer = Thread.ofVirtual().name("based4j-time-limit").start(() -> {
            try {
                Thread.sleep(limit);
                stop(Reason.TIME_LIMIT);
            } catch (InterruptedException closedFirst) {
                // the run ended before its limit
            }
        });
    }

    /** Runs {@code action} when the run is asked to stop (at once when it already was), e.g. a cancellation. */
    void onStop(Runnable action) {
        onStop.add(Objects.requireNonNull(action, "action"));
        if (reason != null) {
            action.run();
        }
    }

    /** Asks the run to stop; the first reason wins. */
    void stop(Reason why) {
        synchronized (this) {
            if (reason != null) {
                return;
            }
            reason = why;
        }
        onStop.forEach(Runnable::run);
    }

    /** @return whether the run was asked to stop */
    boolean stopRequested() {
        return reason != null;
    }

    /** @throws Stopped when the run was asked to stop */
    void check() {
        if (reason != null) {
            throw stopped("");
        }
    }

    /**
     * @param progress what was done before the stop, e.g. {@code after 12 of 64 tokens}; may be empty
     * @return the exception that reports the stop, with its exit status
     * @throws IllegalStateException when the run was not asked to stop
     */
    Stopped stopped(String progress) {
        Reason r = reason;
        if (r == null) {
            throw new IllegalStateException("run: not asked to stop");
        }
        String how = r == Reason.TIME_LIMIT ? r.words + " (--time-limit " + limitText + ")" : r.words + " (Ctrl-C)";
        return new Stopped(r, how + (progress == null || progress.isEmpty() ? "" : " " + progress));
    }

    /** Ends the run: cancels its timer and forgets it. */
    @Override
    public synchronized void close() {
        ACTIVE.remove(this);
        if (CURRENT.get() == this) {
            CURRENT.remove();
        }
        if (timer != null) {
            timer.interrupt();
        }
    }
}
