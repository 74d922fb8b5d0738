package dev.based4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import dev.based4j.onnx.kernels.BasedAttentionKernels;
import dev.based4j.onnx.kernels.ConvKernels;
import dev.based4j.onnx.kernels.FeatureMapKernels;
import dev.based4j.onnx.kernels.LinearAttentionKernels;
import dev.based4j.onnx.kernels.PlumbingKernels;
import dev.based4j.onnx.kernels.SessionCache;
import dev.based4j.onnx.kernels.SlidingWindowKernels;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.util.EnumSet;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The ONNX Runtime backend's engine: every kernel family, for every feature map, as ONNX graphs built in memory
 * ({@code dev.based4j.onnx.kernels}) with dynamic batch, head, sequence and value dimensions, compiled once into an
 * {@code OrtSession} per (kernel, spec, precision) and cached ({@link SessionCache}). Sessions are thread-safe, so
 * kernels run from many threads without locks. Tensors live in host memory that ONNX Runtime reads and writes in
 * place. Errors of ONNX Runtime surface as {@link OnnxKernelException} naming the graph and, through ONNX Runtime's
 * message, the node and op.
 *
 * <p>Obtain the backend through {@link dev.based4j.Backends#select(String) Backends.select("onnx")} (or
 * {@code "onnx-cuda"}); its {@link dev.based4j.Backend#unwrap unwrap(OnnxInfo.class)} gives the execution provider,
 * the threads and the number of cached sessions.
 */
public final class OnnxEngine {
    private OnnxEngine() {}

    /** Details of an ONNX Runtime backend, from {@code backend.unwrap(OnnxInfo.class)}. */
    public static final class OnnxInfo {
        private final ExecutionProvider executionProvider;
        private final int intraOpThreads;
        private final int cudaDevice;
        private final String runtimeVersion;
        private final SessionCache sessions;

        private OnnxInfo(ExecutionProvider executionProvider, int intraOpThreads, int cudaDevice,
                String runtimeVersion, SessionCache sessions) {
            this.executionProvider = executionProvider;
            this.intraOpThreads = intraOpThreads;
            this.cudaDevice = cudaDevice;
            this.runtimeVersion = runtimeVersion;
            this.sessions = sessions;
        }

        /** @return the execution provider of every session */
        public ExecutionProvider executionProvider() {
            return executionProvider;
        }

        /** @return intra-op threads of each session, 0 for ONNX Runtime's default */
        public int intraOpThreads() {
            return intraOpThreads;
        }

        /** @return the CUDA device ordinal, for the CUDA execution provider only */
        public OptionalInt cudaDevice() {
            return executionProvider == ExecutionProvider.CUDA ? OptionalInt.of(cudaDevice) : OptionalInt.empty();
        }

        /** @return the version of ONNX Runtime */
        public String runtimeVersion() {
            return runtimeVersion;
        }

        /** @return how many compiled sessions are cached now (at most {@value SessionCache#MAX_SESSIONS}) */
        public int cachedSessions() {
            return sessions.size();
        }

        @Override
        public String toString() {
            return "OnnxInfo[" + executionProvider.backendName() + ", ONNX Runtime " + runtimeVersion + ", "
                    + intraOpThreads + " intra-op threads, " + cachedSessions() + " sessions]";
        }
    }

    /** @return the element types a backend on {@code provider} computes in */
    static Set<DType> precisions(ExecutionProvider provider) {
        // CPU: every op used has float32 and float64 kernels (Erf, Elu and Conv have no float64 kernel and are
        // avoided in float64 graphs). CUDA: float64 is not declared because it has not been run on a device yet.
        return provider == ExecutionProvider.CPU ? EnumSet.of(DType.F32, DType.F64) : EnumSet.of(DType.F32);
    }

    /**
     * @return the weight storage types a backend on {@code provider} takes besides its precisions: bf16, f16 and int8
     *     on the CPU; none on CUDA, where those graphs have not been run on a device yet
     */
    static Set<DType> weightTypes(ExecutionProvider provider) {
        return provider == ExecutionProvider.CPU ? PlumbingKernels.WEIGHT_TYPES : Set.of();
    }

    /**
     * An engine whose sessions run on {@code provider}.
     *
     * @param provider the execution provider of every session
     * @param threads intra-op threads per session, 0 for ONNX Runtime's default, at most
     *     {@link OnnxSettings#maxThreads()}
     * @param cudaDevice the CUDA device ordinal, {@code 0..}{@value OnnxSettings#MAX_CUDA_DEVICE} (used by the CUDA
     *     provider only)
     * @throws IllegalArgumentException naming the parameter when one is null or out of range
     * @throws IllegalStateException when ONNX Runtime's native library cannot load
     */
    public static Engine<?> create(ExecutionProvider provider, int threads, int cudaDevice) {
        if (provider == null) {
            throw new IllegalArgumentException("provider: expected an execution provider, got null");
        }
        if (threads < 0 || threads > OnnxSettings.maxThreads()) {
            throw new IllegalArgumentException("threads: expected 0 (ONNX Runtime's default) to "
                    + OnnxSettings.maxThreads() + ", got " + threads);
        }
        if (cudaDevice < 0 || cudaDevice > OnnxSettings.MAX_CUDA_DEVICE) {
            throw new IllegalArgumentException("cudaDevice: expected 0.." + OnnxSettings.MAX_CUDA_DEVICE + ", got "
                    + cudaDevice);
        }
        OrtEnvironment env = environment();
        SessionCache sessions = new SessionCache(env, provider, threads, cudaDevice);
        String version = env.getVersion();
        return Engine.builder(new OnnxMemory(), precisions(provider))
                .device(device(provider, version, threads, cudaDevice))
                .featureMaps(new FeatureMapKernels(sessions))
                .linearAttention(new LinearAttentionKernels(sessions))
                .slidingWindow(new SlidingWindowKernels(sessions))
                .basedAttention(new BasedAttentionKernels(sessions))
                .conv(new ConvKernels(sessions))
                .plumbing(new PlumbingKernels(sessions), weightTypes(provider))
                .copy(OnnxMemory::copy)
                // every state kernel is one ONNX Runtime run whose new state is written into fresh memory and swapped
                // in only after the run succeeded (KernelRun.state), so a run that fails leaves the state as it was:
                // based4j need not back states up
                .statesSurviveFailures(true)
                .extension(new OnnxInfo(provider, threads, cudaDevice, version, sessions))
                // runs after based4j freed every tensor and every call has returned
                .onClose(sessions::close)
                .build();
    }

    /** @return ONNX Runtime's environment, loading its native library on first use */
    static OrtEnvironment environment() {
        try {
            return OnnxRuntimeEnvironment.get();
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException("ONNX Runtime could not load: " + e, e);
        }
    }

    /** @return the device text of a backend */
    static String device(ExecutionProvider provider, String version, int threads, int cudaDevice) {
        String where = provider == ExecutionProvider.CPU ? "CPU execution provider"
                : "CUDA execution provider, device " + cudaDevice;
        return "ONNX Runtime " + version + ", " + where + ", "
                + (threads > 0 ? threads + " intra-op threads" : "default intra-op threads");
    }
}
