package dev.based4j.onnx;

/** The ONNX Runtime execution providers this backend offers, each as its own backend name. */
public enum ExecutionProvider {
    /** ONNX Runtime's CPU execution provider (backend {@code onnx}): float32 and float64. */
    CPU("onnx"),
    /**
     * ONNX Runtime's CUDA execution provider (backend {@code onnx-cuda}): needs the GPU build
     * {@code com.microsoft.onnxruntime:onnxruntime_gpu} on the class path instead of {@code onnxruntime} and a
     * CUDA device; float32. The backend is offered only when a session with CPU fall-back disabled starts on the
     * device, so asking for it never silently gives the CPU. Within a kernel's graph ONNX Runtime runs the small
     * int64 shape computations on the CPU, as it does for every CUDA model; the floating-point work runs on the
     * GPU. Not yet run on a GPU.
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
