package dev.based4j.opencl.runtime;

import dev.based4j.opencl.OpenClException;

/** Turns OpenCL return codes into {@link OpenClException}s that name the call and the code. */
public final class ClCheck {
    private ClCheck() {}

    /**
     * @param code what the call returned
     * @param call the call, e.g. {@code clEnqueueNDRangeKernel(la_chunked)}
     * @throws OpenClException when {@code code} is not {@code CL_SUCCESS}
     */
    public static void check(int code, String call) {
        if (code != 0) {
            throw new OpenClException(call, code, "");
        }
    }
}
