package dev.based4j.opencl;

/**
 * An OpenCL call failed. The message names the call and the error code's name, e.g.
 * {@code clEnqueueNDRangeKernel(la_chunked): CL_OUT_OF_RESOURCES (-5)}; a failed program build carries the
 * compiler's full log.
 */
public final class OpenClException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errorCode;

    /**
     * @param call the OpenCL function (and what it was applied to)
     * @param errorCode the code it returned
     * @param detail more text (a build log), or empty
     */
    public OpenClException(String call, int errorCode, String detail) {
        super(call + ": " + ClErrorNames.name(errorCode) + " (" + errorCode + ")"
                + (detail == null || detail.isEmpty() ? "" : "\n" + detail));
        this.call = call;
        this.errorCode = errorCode;
    }

    /** @return the OpenCL function that failed */
    public String call() {
        return call;
    }

    /** @return the error code it returned (negative) */
    public int errorCode() {
        return errorCode;
    }

    /** @return the code's name, e.g. {@code CL_INVALID_VALUE} */
    public String errorName() {
        return ClErrorNames.name(errorCode);
    }
}
