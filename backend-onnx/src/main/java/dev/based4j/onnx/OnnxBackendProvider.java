package dev.based4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import dev.based4j.Availability;
import dev.based4j.Setting;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import java.util.List;

/**
 * Provider of backend {@code onnx}: ONNX Runtime with the CPU execution provider, float32 and float64, intra-op
 * threads from {@link OnnxSettings#THREADS}. Construction loads nothing; {@link #probe()} checks the settings, then
 * loads ONNX Runtime's native library and reports a failure as data.
 */
public final class OnnxBackendProvider implements BackendProvider {
    /** Preference when nothing is named: below the native backends, ONNX Runtime is the portable path. */
    public static final int PRIORITY = 20;

    /** Cheap: loads nothing. */
    public OnnxBackendProvider() {}

    @Override
    public String name() {
        return ExecutionProvider.CPU.backendName();
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public String description() {
        return "ONNX Runtime, CPU execution provider (graphs built in memory)";
    }

    @Override
    public List<Setting> settings() {
        return OnnxSettings.cpu();
    }

    @Override
    public Availability probe() {
        int threads;
        try {
            threads = OnnxSettings.threads();
        } catch (IllegalArgumentException e) {
            return misconfiguredThreads(e);
        }
        try {
            OrtEnvironment env = OnnxRuntimeEnvironment.get();
            return Availability.usable(OnnxEngine.device(ExecutionProvider.CPU, env.getVersion(), threads, 0),
                    OnnxEngine.precisions(ExecutionProvider.CPU));
        } catch (Throwable e) {
            return Availability.unusable("ONNX Runtime could not load: " + e,
                    "put com.microsoft.onnxruntime:onnxruntime (1.29.x) on the class path; on Linux it needs glibc and"
                            + " x86-64 or aarch64");
        }
    }

    /**
     * Creates the engine with {@link OnnxSettings#THREADS} intra-op threads per session.
     *
     * @throws IllegalStateException with the probe's reason and fix when it cannot run here
     */
    @Override
    public Engine<?> create() {
        Availability a = probe();
        if (!a.usable()) {
            throw new IllegalStateException("backend onnx cannot run here: " + a.reason() + "; fix: " + a.fix());
        }
        try {
            return OnnxEngine.create(ExecutionProvider.CPU, OnnxSettings.threads(), 0);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("backend onnx cannot start: " + e.getMessage(), e);
        }
    }

    /** The availability of an ONNX backend whose thread setting is malformed or out of range. */
    static Availability misconfiguredThreads(IllegalArgumentException e) {
        return Availability.misconfigured(e.getMessage(), "set " + OnnxSettings.THREADS.names()
                + " to 0 for ONNX Runtime's default, or to 1.." + OnnxSettings.maxThreads()
                + " (four per available processor)");
    }
}
