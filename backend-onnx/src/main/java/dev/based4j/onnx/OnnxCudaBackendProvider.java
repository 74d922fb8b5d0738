package dev.based4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.based4j.Availability;
import dev.based4j.Setting;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import java.util.EnumSet;
import java.util.List;

/**
 * Provider of backend {@code onnx-cuda}: ONNX Runtime with the CUDA execution provider on device
 * {@link OnnxSettings#CUDA_DEVICE}, float32. It is usable only when the GPU build of ONNX Runtime
 * ({@code com.microsoft.onnxruntime:onnxruntime_gpu}, which replaces {@code onnxruntime} on the class path) is
 * present and a session can start on the device; {@link #probe()} says which of the two is missing. A user who
 * asks for {@code onnx-cuda} never gets the CPU: the probe's session (one float Add) runs with ONNX Runtime's CPU
 * fall-back disabled, so it fails unless the device computes.
 */
public final class OnnxCudaBackendProvider implements BackendProvider {
    /** Preference when nothing is named: above {@code onnx}, below the native backends. */
    public static final int PRIORITY = 40;

    /** Cheap: loads nothing. */
    public OnnxCudaBackendProvider() {}

    @Override
    public String name() {
        return ExecutionProvider.CUDA.backendName();
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public String description() {
        return "ONNX Runtime, CUDA execution provider (needs onnxruntime_gpu and an NVIDIA GPU)";
    }

    @Override
    public List<Setting> settings() {
        return OnnxSettings.cuda();
    }

    @Override
    public Availability probe() {
        int threads;
        int device;
        try {
            threads = OnnxSettings.threads();
        } catch (IllegalArgumentException e) {
            return OnnxBackendProvider.misconfiguredThreads(e);
        }
        try {
            device = OnnxSettings.cudaDevice();
        } catch (IllegalArgumentException e) {
            return Availability.misconfigured(e.getMessage(), "set " + OnnxSettings.CUDA_DEVICE.names()
                    + " to the ordinal of a visible CUDA device, 0.." + OnnxSettings.MAX_CUDA_DEVICE
                    + " (nvidia-smi -L lists them)");
        }
        EnumSet<OrtProvider> providers;
        OrtEnvironment env;
        try {
            env = OnnxRuntimeEnvironment.get();
            providers = OrtEnvironment.getAvailableProviders();
        } catch (Throwable e) {
            return Availability.unusable("ONNX Runtime could not load: " + e,
                    "put com.microsoft.onnxruntime:onnxruntime_gpu (1.29.x) on the class path");
        }
        if (!providers.contains(OrtProvider.CUDA)) {
            return Availability.unusable("the ONNX Runtime on the class path is a build without the CUDA execution "
                    + "provider (it offers " + providers + ")",
                    "replace com.microsoft.onnxruntime:onnxruntime by com.microsoft.onnxruntime:onnxruntime_gpu (same "
                            + "version); it needs an NVIDIA driver, CUDA 12 and cuDNN 9 libraries");
        }
        // a one-node session on the device proves the driver, the CUDA libraries and the device are there
        GraphBuilder g = new GraphBuilder("onnx_cuda_probe", ElementType.FLOAT);
        Value x = g.input("x", 1);
        g.output(g.add(x, x), "y", 1);
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.addCUDA(device);
            options.addConfigEntry("session.disable_cpu_ep_fallback", "1");
            try (OrtSession unused = env.createSession(g.toBytes(), options)) {
                return Availability.usable(OnnxEngine.device(ExecutionProvider.CUDA, env.getVersion(), threads, device),
                        OnnxEngine.precisions(ExecutionProvider.CUDA));
            }
        } catch (Throwable e) {
            return Availability.unusable("the CUDA execution provider could not start on device " + device + ": " + e,
                    "check that an NVIDIA GPU and driver are present (nvidia-smi) and that the CUDA 12 and cuDNN 9 "
                            + "libraries are on the library path; pick another device with "
                            + OnnxSettings.CUDA_DEVICE.names());
        }
    }

    /**
     * Creates the engine on device {@link OnnxSettings#CUDA_DEVICE} with {@link OnnxSettings#THREADS} intra-op
     * threads per session.
     *
     * @throws IllegalStateException with the probe's reason and fix when it cannot run here
     */
    @Override
    public Engine<?> create() {
        Availability a = probe();
        if (!a.usable()) {
            throw new IllegalStateException("backend onnx-cuda cannot run here: " + a.reason() + "; fix: " + a.fix());
        }
        try {
            return OnnxEngine.create(ExecutionProvider.CUDA, OnnxSettings.threads(), OnnxSettings.cudaDevice());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("backend onnx-cuda cannot start: " + e.getMessage(), e);
        }
    }
}
