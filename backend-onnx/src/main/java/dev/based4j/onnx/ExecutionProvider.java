package dev.based4j.onnx;

/** The ONNX Runtime execution providers this backend offers, each as its own backend name. */
public enum ExecutionProvider {
    /** ONNX Runtime's CPU execution provider (backend {@code onnx}): float32 and float64. */
    CPU("onnx"),
    /**
     * ONNX Runtime's CUDA execution provider (backend {@code onnx-cuda}): needs the GPU build
     * {@code com.microsoft.onnxruntime:onnxruntime_gpu} on the class path instead of {@code onnxruntime} and a
     * CUDA device; float32. Sessions are created with CPU fall-back disabled, so a graph with a node the CUDA
     * provider cannot run fails instead of running partly on the CPU.
     */
    CUDA("onnx-cuda");

    private final String backendName;

    ExecutionProvider(String backendName) {
        this.backendName = backendName;
    }

    /** @return the based4j backend name */
    public String backendName() {
        return backendName;
    }
}
