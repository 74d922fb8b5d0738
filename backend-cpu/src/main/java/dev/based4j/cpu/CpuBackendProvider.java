package dev.based4j.cpu;

import dev.based4j.Settings;
import dev.based4j.cpu.kernels.F32Kernels;
import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.spi.BackendProvider;
import dev.based4j.tensor.DType;
import java.util.EnumSet;

/**
 * Provider of the CPU backend, the embedded default: name {@code cpu}, priority {@value #PRIORITY}. It needs
 * nothing but the JVM, so {@link #probe()} reports it usable unless its thread setting is malformed.
 */
public final class CpuBackendProvider implements BackendProvider {
    /** The name users select it by. */
    public static final String NAME = "cpu";
    /** Preference when nothing is named: low, so that an accelerator that can run wins. */
    public static final int PRIORITY = 100;
    /** Most worker threads accepted from {@link Settings#CPU_THREADS}. */
    static final int MAX_THREADS = 4096;

    /** Cheap: reads nothing and starts nothing. */
    public CpuBackendProvider() {}

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public String description() {
        return "pure-Java kernels in float32 and float64 (the reference path); the embedded default";
    }

    @Override
    public Availability probe() {
        int threads;
        try {
            threads = threads();
        } catch (IllegalArgumentException e) {
            return Availability.unusable(e.getMessage(), "set " + Settings.CPU_THREADS.property() + " (or "
                    + Settings.CPU_THREADS.environment() + ") to 0 for one thread per processor, or to 1.."
                    + MAX_THREADS);
        }
        try {
            Settings.CPU_NO_VECTOR.booleanValue();
        } catch (IllegalArgumentException e) {
            return Availability.unusable(e.getMessage(), "set " + Settings.CPU_NO_VECTOR.property() + " (or "
                    + Settings.CPU_NO_VECTOR.environment() + ") to true or false");
        }
        return Availability.usable(device(threads), EnumSet.of(DType.F32, DType.F64));
    }

    /**
     * Creates a backend with {@link Settings#CPU_THREADS} worker threads (0 = one per available processor).
     *
     * @throws IllegalStateException when a setting of the backend is malformed
     */
    @Override
    public Backend create() {
        try {
            return new CpuBackend(threads(), F32Kernels.select());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("cpu backend cannot start: " + e.getMessage(), e);
        }
    }

    /** @return the configured worker count, 0 resolved to the processors available to the JVM */
    static int threads() {
        int n = Settings.CPU_THREADS.intValue();
        if (n < 0 || n > MAX_THREADS) {
            throw new IllegalArgumentException(Settings.CPU_THREADS.property() + " ("
                    + Settings.CPU_THREADS.environment() + "): expected 0 (one per processor) or 1.." + MAX_THREADS
                    + ", got " + n);
        }
        return n == 0 ? Runtime.getRuntime().availableProcessors() : n;
    }

    /** @return the device text of {@link Backend#device()} for {@code threads} workers */
    static String device(int threads) {
        return "CPU (" + threads + (threads == 1 ? " thread" : " threads") + ", Java " + Runtime.version() + ")";
    }
}
