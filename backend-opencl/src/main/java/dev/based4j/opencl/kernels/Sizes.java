package dev.based4j.opencl.kernels;

/** Launch-size arithmetic shared by the kernel families. */
final class Sizes {
    private Sizes() {}

    /** Work-items per group of the simple element-wise kernels. */
    static final int ELEMENTWISE_GROUP = 64;

    /** @return {@code n} rounded up to a multiple of {@code m} */
    static long roundUp(long n, long m) {
        return (n + m - 1) / m * m;
    }

    /** @return the largest power of two that is at most {@code n} (n ≥ 1) */
    static int floorPowerOfTwo(long n) {
        return Integer.highestOneBit((int) Math.min(n, 1 << 30));
    }
}
