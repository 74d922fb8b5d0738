package dev.based4j.cuda;

import dev.based4j.Availability;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Runs a probe that calls native code on a daemon thread of its own and waits for it at most a deadline, so that a
 * library or driver that never answers (a loader blocked on a file, a driver waiting for a hung device) makes the
 * backend unusable instead of hanging {@code based4j info} or the application's start. A native call cannot be
 * interrupted: a probe thread that overran is left to finish on its own, and while it is still blocked, later probes
 * answer at once that it is, instead of piling up more blocked threads.
 */
final class ProbeDeadline {
    private final String backend;
    private final Duration limit;
    private final String fix;
    private Thread blocked;
    private long blockedSince;

    /**
     * @param backend the backend's name, for the thread and the messages
     * @param limit how long a probe may take
     * @param fix what to check when a probe overruns
     * @throws IllegalArgumentException when {@code limit} is not positive
     */
    ProbeDeadline(String backend, Duration limit, String fix) {
        if (limit == null || limit.isNegative() || limit.isZero()) {
            throw new IllegalArgumentException("limit: expected a positive duration, got " + limit);
        }
        this.backend = backend;
        this.limit = limit;
        this.fix = fix;
    }

    /**
     * @return what {@code probe} returned within the deadline; else unusable, with "probe timed out after N s" and
     *     where it was blocked; unusable as well when it threw
     */
    Availability run(Supplier<Availability> probe) {
        synchronized (this) {
            if (blocked != null && blocked.isAlive()) {
                return Availability.unusable(backend + " probe: an earlier probe timed out after " + seconds(limit)
                        + " and has been blocked for " + seconds(Duration.ofNanos(System.nanoTime() - blockedSince))
                        + where(blocked), fix);
            }
            blocked = null;
        }
        FutureTask<Availability> task = new FutureTask<>(probe::get);
        Thread thread = new Thread(task, "based4j-" + backend + "-probe");
        thread.setDaemon(true);
        long start = System.nanoTime();
        thread.start();
        try {
            Availability a = task.get(limit.toNanos(), TimeUnit.NANOSECONDS);
            return a != null ? a : Availability.unusable(backend + " probe returned nothing",
                    "report this as a bug of backend " + backend);
        } catch (TimeoutException e) {
            synchronized (this) {
                blocked = thread;
                blockedSince = start;
            }
            return Availability.unusable(backend + " probe timed out after " + seconds(limit) + where(thread), fix);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return Availability.unusable(backend + " probe failed: " + cause,
                    "report this as a bug of backend " + backend + " with the message above");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Availability.unusable(backend + " probe interrupted before it finished",
                    "probe again (the calling thread was interrupted)");
        }
    }

    /** @return {@code " (blocked in Class.method)"}: the innermost frame of based4j or of the JDK's foreign API */
    private static String where(Thread thread) {
        return Arrays.stream(thread.getStackTrace())
                .filter(f -> f.getClassName().startsWith("dev.based4j.")
                        || f.getClassName().startsWith("java.lang.foreign.")
                        || f.getClassName().startsWith("jdk.internal.loader.NativeLibrar"))
                .findFirst()
                .map(f -> " (blocked in " + f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "."
                        + f.getMethodName() + ")")
                .orElse("");
    }

    /** @return e.g. {@code 30 s} or {@code 0.25 s} */
    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(Locale.ROOT, "%.2f s", ms / 1000.0);
    }
}
