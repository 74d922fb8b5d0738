package dev.based4j.cpu;

import dev.based4j.Availability;
import dev.based4j.Setting;
import dev.based4j.cpu.kernels.F32Kernels;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.util.EnumSet;
import java.util.List;

/**
 * Provider of the CPU backend, the embedded default: name {@code cpu}, priority {@value #PRIORITY}. It needs
 * nothing but the JVM, so {@link #probe()} reports it usable unless one of its settings ({@link CpuSettings}) is
 * malformed.
 */
public final class CpuBackendProvider implements BackendProvider {
    /** The name users select it by. */
    public static final String NAME = "cpu";
    /** Preference when nothing is named: low, so that an accelerator that can run wins. */
    public static final int PRIORITY = 100;

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
    public List<Setting> settings() {
        return CpuSettings.all();
    }

    @Override
    public Availability probe() {
        int threads;
        try {
            threads = CpuSettings.threads();
        } catch (IllegalArgumentException e) {
            return Availability.misconfigured(e.getMessage(), "set " + CpuSettings.THREADS.names()
                    + " to 0 for one thread per processor, or to 1.." + CpuSettings.maxThreads());
        }
        try {
            CpuSettings.noVector();
        } catch (IllegalArgumentException e) {
            return Availability.misconfigured(e.getMessage(), "set " + CpuSettings.NO_VECTOR.names()
                    + " to true or false");
        }
        return Availability.usable(device(threads), EnumSet.of(DType.F32, DType.F64));
    }

    /**
     * Creates the engine with {@link CpuSettings#THREADS} worker threads (0 = one per available processor).
     *
     * @throws IllegalStateException when a setting of the backend is malformed
     */
    @Override
    public Engine<?> create() {
        try {
            return CpuEngine.create(CpuSettings.threads(), F32Kernels.select(CpuSettings.noVector()));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("cpu backend cannot start: " + e.getMessage(), e);
        }
    }

    /** @return the device text of the backend for {@code threads} workers */
    static String device(int threads) {
        return "CPU (" + threads + (threads == 1 ? " thread" : " threads") + ", Java " + Runtime.version() + ")";
    }
}
