package dev.based4j.internal;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The execution plans being recorded on one backend: which thread records into which {@link Capture}. Threads
 * record plans of their own at the same time; each captures only its own calls. While nothing is recorded, a call
 * asks one volatile read and no map.
 */
final class PlanRecorder {
    private final String backendName;
    private final ConcurrentHashMap<Thread, Capture> captures = new ConcurrentHashMap<>();
    /** How many steps are being recorded: 0 lets every call skip the lookup. */
    private volatile int recordings;

    PlanRecorder(String backendName) {
        this.backendName = backendName;
    }

    /** @return the capture the current thread records into, or null */
    Capture current() {
        return recordings == 0 ? null : captures.get(Thread.currentThread());
    }

    /**
     * Records what {@code step} does on this thread for replay; {@code step} runs once, for real. When it fails,
     * what it allocated for the plan is freed.
     *
     * @throws IllegalStateException when this thread is already recording on this backend (a plan made while
     *     recording another)
     */
    Capture record(Runnable step) {
        Thread self = Thread.currentThread();
        Capture c = new Capture(self);
        synchronized (this) {
            if (captures.putIfAbsent(self, c) != null) {
                throw new IllegalStateException("backend: " + backendName + " is already recording a plan on thread '"
                        + self.getName() + "'; a plan cannot be made while another is being recorded");
            }
            recordings++;
        }
        try {
            step.run();
        } catch (RuntimeException | Error e) {
            release(c);
            throw e;
        } finally {
            c.stop();
            synchronized (this) {
                captures.remove(self);
                recordings--;
            }
        }
        return c;
    }

    /** Frees what a capture (or the plan made from it) owns. */
    static void release(Capture c) {
        for (DeviceTensor<?> t : c.owned()) {
            t.release();
        }
    }
}
