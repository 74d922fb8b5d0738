package dev.based4j.onnx;

/**
 * ONNX Runtime failed to build or run one of the backend's graphs. The message names the graph (kernel, map,
 * precision) and carries ONNX Runtime's own message, which names the node and its op type.
 */
public final class OnnxKernelException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String graph;

    /**
     * @param graph the graph's name
     * @param what what was being done ("creating a session", "running")
     * @param cause ONNX Runtime's exception
     */
    public OnnxKernelException(String graph, String what, Throwable cause) {
        super("onnx graph '" + graph + "': " + what + " failed: " + cause.getMessage(), cause);
        this.graph = graph;
    }

    /** @return the name of the graph that failed */
    public String graph() {
        return graph;
    }
}
