package dev.based4j.cpu.kernels;

/**
 * Per-thread float buffers that kernels reuse from call to call, so that decode steps do not allocate. A kernel
 * asks for each of its buffers by a distinct slot; kernel calls never nest on one thread, so slots of different
 * families may overlap. Contents are left over from earlier use: callers write before they read.
 */
final class Scratch {
    /** Buffers larger than this (in floats) are not kept after use, so a long prefill does not pin memory. */
    private static final int KEEP_LIMIT = 1 << 22;
    private static final int SLOTS = 20;
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[SLOTS][]);

    private Scratch() {}

    /** @return a buffer of at least {@code size} floats for {@code slot} in {@code [0, 20)} */
    static float[] floats(int slot, int size) {
        float[][] buffers = BUFFERS.get();
        float[] b = buffers[slot];
        if (b == null || b.length < size) {
            b = new float[size];
            buffers[slot] = size <= KEEP_LIMIT ? b : null;
        }
        return b;
    }
}
