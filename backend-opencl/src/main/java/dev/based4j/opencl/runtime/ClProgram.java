package dev.based4j.opencl.runtime;

import static org.lwjgl.opencl.CL10.*;

import dev.based4j.opencl.OpenClException;
import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.util.HashMap;
import java.util.Map;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

/** A built program and its kernels, created on first use. Guarded by the owning context's lock. */
final class ClProgram {
    private final String name;
    private final long program;
    private final long device;
    private final Map<String, long[]> kernels = new HashMap<>();

    private ClProgram(String name, long program, long device) {
        this.name = name;
        this.program = program;
        this.device = device;
    }

    /**
     * Compiles {@code source} for {@code device}.
     *
     * @throws OpenClException naming the program, with the compiler's full log, when the build fails
     */
    static ClProgram build(String name, long context, long device, String source, String options) {
        long program;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            program = clCreateProgramWithSource(context, source, err);
            ClCheck.check(err.get(0), "clCreateProgramWithSource(" + name + ")");
        }
        int code = clBuildProgram(program, device, options, null, 0L);
        // the driver's compiler (LLVM, for PoCL) may have installed its signal handlers over the JVM's
        JvmSignalHandlers.restore("clBuildProgram");
        if (code != CL_SUCCESS) {
            String log = buildLog(program, device);
            clReleaseProgram(program);
            throw new OpenClException("clBuildProgram(" + name + ", options '" + options + "')", code,
                    "build log:\n" + log);
        }
        return new ClProgram(name, program, device);
    }

    private static String buildLog(long program, long device) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, (ByteBuffer) null, size) != CL_SUCCESS) {
                return "(no build log available)";
            }
            ByteBuffer buf = MemoryUtil.memAlloc((int) Math.max(1, size.get(0)));
            try {
                clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, buf, null);
                return MemoryUtil.memUTF8(buf, Math.max(0, (int) size.get(0) - 1));
            } finally {
                MemoryUtil.memFree(buf);
            }
        }
    }

    /** @return {handle, max work-group size} of kernel {@code kernelName} */
    long[] kernel(String kernelName) {
        long[] k = kernels.get(kernelName);
        if (k == null) {
            try (MemoryStack stack = MemoryStack.stackPush()) {
                IntBuffer err = stack.mallocInt(1);
                long handle = clCreateKernel(program, kernelName, err);
                ClCheck.check(err.get(0), "clCreateKernel(" + name + "." + kernelName + ")");
                PointerBuffer wg = stack.mallocPointer(1);
                ClCheck.check(clGetKernelWorkGroupInfo(handle, device, CL_KERNEL_WORK_GROUP_SIZE, wg, null),
                        "clGetKernelWorkGroupInfo(" + kernelName + ")");
                k = new long[] {handle, wg.get(0)};
                kernels.put(kernelName, k);
            }
        }
        return k;
    }

    void release() {
        for (long[] k : kernels.values()) {
            clReleaseKernel(k[0]);
        }
        kernels.clear();
        clReleaseProgram(program);
    }
}
