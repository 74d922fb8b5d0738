package dev.based4j.cpu.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Copies between tensor memory and Java arrays; indices count elements, not bytes. */
final class Mem {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    private Mem() {}

    static void read(MemorySegment src, long index, float[] dst, int offset, int n) {
        MemorySegment.copy(src, F32, index * Float.BYTES, dst, offset, n);
    }

    static void write(float[] src, int offset, MemorySegment dst, long index, int n) {
        MemorySegment.copy(src, offset, dst, F32, index * Float.BYTES, n);
    }

    static float[] readFloats(MemorySegment src, long index, int n) {
        float[] a = new float[n];
        read(src, index, a, 0, n);
        return a;
    }

    static double[] readDoubles(MemorySegment src, long index, int n) {
        double[] a = new double[n];
        MemorySegment.copy(src, F64, index * Double.BYTES, a, 0, n);
        return a;
    }

    static void write(double[] src, int offset, MemorySegment dst, long index, int n) {
        MemorySegment.copy(src, offset, dst, F64, index * Double.BYTES, n);
    }

    /** @return every element, for tensors small enough to fit an array */
    static double[] readAllDoubles(MemorySegment src) {
        return readDoubles(src, 0, Math.toIntExact(src.byteSize() / Double.BYTES));
    }

    static float[] readAllFloats(MemorySegment src) {
        return readFloats(src, 0, Math.toIntExact(src.byteSize() / Float.BYTES));
    }
}
