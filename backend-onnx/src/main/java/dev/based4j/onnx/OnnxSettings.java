package dev.based4j.onnx;

import dev.based4j.Setting;
import java.util.List;

/**
 * The settings of the ONNX Runtime backends, listed by {@code based4j info} under {@code onnx} and
 * {@code onnx-cuda}. The property and environment names are those users already have.
 */
public final class OnnxSettings {
    private OnnxSettings() {}

    /**
     * Highest CUDA device ordinal accepted. Ordinals count the devices visible to the process (after
     * {@code CUDA_VISIBLE_DEVICES}), and the largest single machines hold 16 GPUs; 63 leaves room for any of them
     * while a typo such as {@code 100000} is refused here rather than handed to ONNX Runtime.
     */
    public static final int MAX_CUDA_DEVICE = 63;

    /** Intra-op threads of every session. */
    public static final Setting THREADS = new Setting("based4j.onnx.threads", "BASED4J_ONNX_THREADS", "0",
            "Intra-op threads of each ONNX Runtime session (onnx and onnx-cuda); 0 = ONNX Runtime's default (one per"
                    + " physical core); at most four per available processor.");

    /** The CUDA device of {@code onnx-cuda}; the same setting as the {@code cuda} backend's. */
    public static final Setting CUDA_DEVICE = new Setting("based4j.cuda.device", "BASED4J_CUDA_DEVICE", "0",
            "CUDA device ordinal the onnx-cuda backend runs on (0.." + MAX_CUDA_DEVICE + ").");

    /** @return the settings of backend {@code onnx} */
    public static List<Setting> cpu() {
        return List.of(THREADS);
    }

    /** @return the settings of backend {@code onnx-cuda} */
    public static List<Setting> cuda() {
        return List.of(THREADS, CUDA_DEVICE);
    }

    /**
     * @return the configured intra-op threads, 0 for ONNX Runtime's default
     * @throws IllegalArgumentException naming the setting, the value and the range when it is not an integer in
     *     {@code 0..}{@link #maxThreads()}
     */
    public static int threads() {
        return THREADS.intValue(0, maxThreads());
    }

    /**
     * @return the most intra-op threads accepted on this machine: four per available processor (at least 4). Each
     *     cached session owns a pool of this many threads, so the bound is what keeps a typo such as
     *     {@code 100000} from starting a hundred thousand native threads per kernel; beyond the processors, more
     *     threads only contend (ONNX Runtime's workers spin before they park)
     */
    public static int maxThreads() {
        return Math.max(4, 4 * Runtime.getRuntime().availableProcessors());
    }

    /**
     * @return the configured CUDA device ordinal
     * @throws IllegalArgumentException naming the setting, the value and the range when it is not an integer in
     *     {@code 0..}{@value #MAX_CUDA_DEVICE}
     */
    public static int cudaDevice() {
        return CUDA_DEVICE.intValue(0, MAX_CUDA_DEVICE);
    }
}
