package dev.based4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import dev.based4j.Settings;
import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.spi.BackendProvider;

/**
 * Provider of backend {@code onnx}: ONNX Runtime with the CPU execution provider, float32 and float64, intra-op
 * threads from {@link Settings#ONNX_THREADS}. Construction loads nothing; {@link #probe()} loads ONNX Runtime's
 * native library and reports a failure as data.
 */
public final class OnnxBackendProvider implements BackendProvider {
    /** Cheap: loads nothing. */
    public OnnxBackendProvider() {}

    @Override
    public String name() {
        return ExecutionProvider.CPU.backendName();
    }

    @Override
    public int priority() {
        // below the native backends: ONNX Runtime is the portable path, not the fastest
        return 20;
    }

    @Override
    public String description() {
        return "ONNX Runtime, CPU execution provider (graphs built in memory)";
    }

    @Override
    public Availability probe() {
        try {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            int threads = threads();
            return Availability.usable("ONNX Runtime " + env.getVersion() + " CPU execution provider"
                    + (threads > 0 ? ", " + threads + " intra-op threads" : ""),
                    OnnxBackend.capabilitiesOf(ExecutionProvider.CPU).precisions());
        } catch (Throwable e) {
            return Availability.unusable("ONNX Runtime could not load: " + e,
                    "put com.microsoft.onnxruntime:onnxruntime (1.29.x) on the class path; on Linux it needs glibc and x86-64 or aarch64");
        }
    }

    @Override
    public Backend create() {
        Availability a = probe();
        if (!a.usable()) {
            throw new IllegalStateException("backend onnx cannot run here: " + a.reason() + "; fix: " + a.fix());
        }
        return new OnnxBackend(ExecutionProvider.CPU, threads(), 0);
    }

    static int threads() {
        int n = Settings.ONNX_THREADS.intValue();
        if (n < 0) {
            throw new IllegalArgumentException(Settings.ONNX_THREADS.property() + " (" + Settings.ONNX_THREADS.environment()
                    + "): expected 0 (ONNX Runtime's default) or a positive thread count, got " + n);
        }
        return n;
    }
}
