package dev.based4j.cpu.kernels;

import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Weights stored as bf16, f16 or int8 (with float32 scales per row or per group of a row), read in plain Java loops:
 * the {@link PlainF32Kernels} forms of {@link F32Kernels#dotReducedRows} and {@link F32Kernels#widenRows}, and the
 * float64 path's conversion. A weight {@code [rows, n]} is row-major in tensor memory, element {@code (j, i)} at
 * element index {@code j·n + i}; the scale of an int8 element is {@code scales[j]} (one per row) or
 * {@code scales[j·(n / groupSize) + i / groupSize]} (one per group).
 */
final class ReducedWeights {
    static final ValueLayout.OfShort S16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private ReducedWeights() {}

    /** @return element {@code index} of a bf16 or f16 weight as float32, exactly; for int8 the integer itself */
    static float widen(DType type, MemorySegment w, long index) {
        return switch (type) {
            case BF16 -> Float.intBitsToFloat((w.getAtIndex(S16, index) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(w.getAtIndex(S16, index));
            case I8 -> w.get(ValueLayout.JAVA_BYTE, index);
            default -> throw new IllegalArgumentException("type: expected bf16, f16 or i8, got " + type.label());
        };
    }

    /** The plain form of {@link F32Kernels#dotReducedRows}. */
    static void dotRows(DType type, float[] x, int xOffset, MemorySegment w, long row0, int rows, int n,
            float[] scales, int groupSize, float[] out, int outOffset) {
        int run = groupSize == 0 ? n : groupSize;
        int runs = n / run;
        for (int r = 0; r < rows; r++) {
            long base = (row0 + r) * n;
            float total = 0;
            for (int g = 0; g < runs; g++) {
                // four sums per run, as the float32 dot product: not bound by the latency of one chain
                float s0 = 0;
                float s1 = 0;
                float s2 = 0;
                float s3 = 0;
                int from = g * run;
                int i = 0;
                for (; i + 3 < run; i += 4) {
                    long at = base + from + i;
                    s0 += x[xOffset + from + i] * widen(type, w, at);
                    s1 += x[xOffset + from + i + 1] * widen(type, w, at + 1);
                    s2 += x[xOffset + from + i + 2] * widen(type, w, at + 2);
                    s3 += x[xOffset + from + i + 3] * widen(type, w, at + 3);
                }
                for (; i < run; i++) {
                    s0 += x[xOffset + from + i] * widen(type, w, base + from + i);
                }
                float sum = (s0 + s1) + (s2 + s3);
                total += type == DType.I8 ? sum * scales[(int) ((row0 + r) * runs + g)] : sum;
            }
            out[outOffset + r] = total;
        }
    }

    /** The plain form of {@link F32Kernels#widenRows}. */
    static void widenRows(DType type, MemorySegment w, long row0, int rows, int n, float[] scales, int groupSize,
            float[] dst, int dstOffset) {
        int run = groupSize == 0 ? n : groupSize;
        int runs = n / run;
        for (int r = 0; r < rows; r++) {
            long base = (row0 + r) * n;
            int o = dstOffset + r * n;
            for (int i = 0; i < n; i++) {
                float v = widen(type, w, base + i);
                dst[o + i] = type == DType.I8 ? v * scales[(int) ((row0 + r) * runs + i / run)] : v;
            }
        }
    }

    /**
     * @return rows {@code row0..row0+rows} of a weight stored as {@code type} as float64 values (int8 times its
     *     float64 scale, {@code scales} as {@link #widenRows} indexes them): the float64 path's weight
     */
    static double[] toDoubles(DType type, MemorySegment w, long row0, int rows, int n, double[] scales,
            int groupSize) {
        int run = groupSize == 0 ? n : groupSize;
        int runs = n / run;
        double[] out = new double[Math.multiplyExact(rows, n)];
        for (int r = 0; r < rows; r++) {
            long base = (row0 + r) * n;
            for (int i = 0; i < n; i++) {
                double v = widen(type, w, base + i);
                out[r * n + i] = type == DType.I8 ? v * scales[(int) ((row0 + r) * runs + i / run)] : v;
            }
        }
        return out;
    }
}
