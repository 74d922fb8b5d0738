package dev.based4j.cuda.kernels;

import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.cuda.device.Scratch;
import dev.based4j.cuda.driver.KernelArgs;
import dev.based4j.tensor.DType;

/**
 * Base of the kernel families: finds a family's kernels in its module by name and element type ({@code _f32},
 * {@code _f64}) and sizes grids. Families enqueue on the context's stream and never synchronise; each SPI call runs
 * under the context's lock ({@link CudaContext#run}).
 */
public abstract class KernelFamily {
    /** The device. */
    protected final CudaContext context;
    /** Intermediate buffers. */
    protected final Scratch scratch;
    private final String module;

    /**
     * @param module the kernel module (source file without {@code .cu})
     */
    protected KernelFamily(CudaContext context, Scratch scratch, String module) {
        this.context = context;
        this.scratch = scratch;
        this.module = module;
    }

    /** @return kernel {@code base} of this family's module for {@code dtype} */
    protected final CudaContext.Kernel kernel(String base, DType dtype) {
        return context.kernel(module, base + (dtype == DType.F32 ? "_f32" : "_f64"));
    }

    /** @return the device pointer of a buffer */
    protected static long ptr(CudaBuffer b) {
        return b.pointer();
    }

    /**
     * @return {@code value} as an {@code int} kernel argument
     * @throws IllegalArgumentException naming {@code what} when it exceeds what the kernels index with 32 bits
     */
    protected static int int32(String what, long value) {
        if (value < 0 || value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shapes: " + what + " = " + value + " exceeds the CUDA kernels' limit of "
                    + Integer.MAX_VALUE);
        }
        return (int) value;
    }

    /** @return blocks for a grid-stride loop over {@code work} items: enough to fill the device, at least 1 */
    protected final int gridFor(long work, int block) {
        long blocks = (work + block - 1) / block;
        return (int) Math.max(1, Math.min(blocks, (long) context.multiprocessors() * 32));
    }

    /** Appends a floating-point scalar as the kernel's {@code T}. */
    protected static void scalar(KernelArgs a, DType dtype, double value) {
        if (dtype == DType.F32) {
            a.f32((float) value);
        } else {
            a.f64(value);
        }
    }

    /** @return {@code a / b} rounded up */
    protected static int ceilDiv(long a, long b) {
        return Math.toIntExact((a + b - 1) / b);
    }
}
