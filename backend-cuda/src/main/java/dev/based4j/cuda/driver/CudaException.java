package dev.based4j.cuda.driver;

/**
 * A CUDA driver call returned an error: the message names the call, the {@code CUresult} name and the driver's
 * description, e.g. {@code cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (700) out of memory}.
 */
public final class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int code;
    private final String errorName;

    /**
     * @param call the driver function that failed
     * @param code its {@code CUresult}
     * @param errorName the {@code CUresult} name
     * @param description the driver's text for the code, or empty
     */
    public CudaException(String call, int code, String errorName, String description) {
        super(call + " failed: " + errorName + " (" + code + ")"
                + (description == null || description.isEmpty() ? "" : " " + description));
        this.call = call;
        this.code = code;
        this.errorName = errorName;
    }

    /** @return the driver function that failed, e.g. {@code cuLaunchKernel} */
    public String call() {
        return call;
    }

    /** @return the {@code CUresult} */
    public int code() {
        return code;
    }

    /** @return the {@code CUresult} name, e.g. {@code CUDA_ERROR_NO_DEVICE} */
    public String errorName() {
        return errorName;
    }
}
