package dev.based4j.onnx.kernels;

import dev.based4j.tensor.DType;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * The bound on the largest intermediate tensor one graph run may make ONNX Runtime allocate. The attention graphs
 * hold score matrices and feature expansions that can be far larger than any of their inputs ({@code seq × keys}
 * scores per head, {@code D = 1 + f + f²} Taylor features per token), and ONNX Runtime allocates them natively: a
 * call whose shapes would need more memory than the machine has is refused here, with the sizes, instead of being
 * left to fail inside ONNX Runtime or to wake the operating system's out-of-memory killer. Where a kernel has a
 * leaner form of the same function, it takes that form before refusing.
 *
 * <p>The budget is a quarter of the machine's physical memory (its container limit, where there is one), at least
 * {@value #MIN_BYTES} bytes: a run holds a few intermediates of the largest size at once.
 */
final class ScratchBudget {
    /** Lower bound of the budget: what every machine that runs a JVM can spare. */
    static final long MIN_BYTES = 256L << 20;
    /** The budget where the machine's memory cannot be read. */
    private static final long FALLBACK_BYTES = 4L << 30;

    private static final long BYTES = Math.max(MIN_BYTES, physicalMemory() / 4);

    private ScratchBudget() {}

    /** One intermediate of a graph: what it is, and its dimensions. */
    record Need(String what, long... dims) {
        long elements() {
            return product(dims);
        }
    }

    /** @return the budget in bytes */
    static long bytes() {
        return BYTES;
    }

    /** @return whether the largest of {@code needs} fits the budget in {@code dtype} */
    static boolean fits(DType dtype, Need... needs) {
        return bytesOf(largest(needs), dtype) <= BYTES;
    }

    /**
     * Checks that the largest of {@code needs} fits the budget.
     *
     * @param kernel the kernel and form, for the message ({@code "linear-attention prefill (quadratic form)"})
     * @throws IllegalArgumentException naming {@code q}, the intermediate, its size and the budget when it does not
     */
    static void check(String kernel, DType dtype, Need... needs) {
        Need big = largest(needs);
        long bytes = bytesOf(big, dtype);
        if (bytes > BYTES) {
            throw new IllegalArgumentException("q: the onnx backend's " + kernel + " would need an intermediate of "
                    + gib(bytes) + " (" + big.what() + " " + java.util.Arrays.toString(big.dims()) + " of "
                    + dtype.label() + "), above its budget of " + gib(BYTES)
                    + " (a quarter of this machine's memory); split the call into shorter ones or use fewer heads"
                    + " per call");
        }
    }

    private static Need largest(Need... needs) {
        Need big = needs[0];
        for (Need n : needs) {
            if (n.elements() > big.elements()) {
                big = n;
            }
        }
        return big;
    }

    private static long bytesOf(Need n, DType dtype) {
        long e = n.elements();
        return e > Long.MAX_VALUE / dtype.byteSize() ? Long.MAX_VALUE : e * dtype.byteSize();
    }

    /** @return the product of {@code dims}, {@link Long#MAX_VALUE} when it overflows */
    static long product(long... dims) {
        long p = 1;
        for (long d : dims) {
            if (d != 0 && p > Long.MAX_VALUE / d) {
                return Long.MAX_VALUE;
            }
            p *= d;
        }
        return p;
    }

    /** @return {@code n} rounded up to a multiple of {@code block} */
    static long roundUp(long n, long block) {
        return (n + block - 1) / block * block;
    }

    private static String gib(long bytes) {
        return bytes == Long.MAX_VALUE ? "more than 8 EiB"
                : String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    private static long physicalMemory() {
        try {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                long total = os.getTotalMemorySize();
                return total > 0 ? total : FALLBACK_BYTES;
            }
        } catch (RuntimeException | LinkageError e) {
            // a JVM without the management extensions: the fixed budget below
        }
        return FALLBACK_BYTES;
    }
}
