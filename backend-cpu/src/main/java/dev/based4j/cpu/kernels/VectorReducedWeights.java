package dev.based4j.cpu.kernels;

import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API forms of {@link F32Kernels#dotReducedRows} and {@link F32Kernels#widenRows}: weights stored as
 * bf16, f16 or int8 widened to float32 a vector at a time, as they stream from memory, and multiplied in float32.
 * Used by {@link VectorF32Kernels} only, so that no class loaded without the vector module mentions vector types.
 *
 * <p>How each type is widened (one float vector of {@code LANES} weights from {@code 2·LANES} or {@code LANES}
 * bytes), and what C2 makes of it on x86 (AVX-512 / AVX2):
 * <ul>
 *   <li>bf16: 16-bit lanes sign-extended to 32 bits ({@code S2I}: {@code vpmovsxwd}), shifted left by 16
 *       ({@code vpslld}) and reinterpreted as floats (no instruction): a bf16 is the upper half of a float32.</li>
 *   <li>f16: the Vector API of JDK 25 has no half-float conversion ({@code jdk.incubator.vector.Float16} is scalar
 *       only). A plain loop over {@link Float#float16ToFloat} is intrinsified and vectorized by C2 into the hardware
 *       conversion ({@code vcvtph2ps}, F16C), so a block of four rows is widened into a float array that stays in the
 *       L1 cache and then multiplied as float32. (Moving the bits with vector operations, the magnitude shifted by 13
 *       and multiplied by {@code 2^112}, the sign or-ed back, took seven operations per vector, ran slower and made
 *       the four-row loop too large for C2 to inline every part of it.)</li>
 *   <li>int8: bytes converted to floats in one operator ({@code B2F}: {@code vpmovsxbd} then {@code vcvtdq2ps});
 *       the sum of a run (a row, or a group) is multiplied by its scale once.</li>
 * </ul>
 * Sums use four rows per pass, as the float32 {@code dotRows}: each vector of {@code x} serves four weight rows, and
 * four independent chains of fused multiply-adds hide their latency.
 */
final class VectorReducedWeights {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = FLOATS.length();
    private static final VectorSpecies<Integer> INTS = FLOATS.withLanes(int.class);
    /** Shorts of one float vector (at least the 64-bit shape). */
    private static final VectorSpecies<Short> SHORTS = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64,
            LANES * 16)));
    /** Bytes read for one float vector of int8 weights: the smallest vector shape holds 8. */
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64,
            LANES * 8)));
    /** Elements a vector step reads from memory: at least a float vector, more when the byte vector is wider. */
    private static final int SPAN = Math.max(LANES, Math.max(SHORTS.length(), BYTES.length()));
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final float TWO_POW_112 = 0x1p112f;

    private VectorReducedWeights() {}

    /** {@code LANES} weights from element {@code index} of a bf16 weight, as floats. */
    private static FloatVector bf16(MemorySegment w, long index) {
        return ((IntVector) ShortVector.fromMemorySegment(SHORTS, w, index * 2, ORDER)
                .convertShape(VectorOperators.S2I, INTS, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** {@code LANES} weights from element {@code index} of an int8 weight, as floats (the integers). */
    private static FloatVector i8(MemorySegment w, long index) {
        return (FloatVector) ByteVector.fromMemorySegment(BYTES, w, index, ORDER)
                .convertShape(VectorOperators.B2F, FLOATS, 0);
    }

    /**
     * Widens {@code n} f16 weights from element {@code index} into {@code dst}: a plain loop over
     * {@link Float#float16ToFloat}, which C2 compiles to the hardware conversion ({@code vcvtph2ps}) and vectorizes.
     */
    private static void f16(MemorySegment w, long index, int n, float[] dst, int dstOffset) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Float.float16ToFloat(w.getAtIndex(ReducedWeights.S16, index + i));
        }
    }

    /** Columns of four f16 rows widened at a time by {@link #dotRows}: 16 KiB of floats, held in the L1 cache. */
    private static final int F16_BLOCK = 1024;
    private static final ThreadLocal<float[]> F16_ROWS = ThreadLocal.withInitial(() -> new float[4 * F16_BLOCK]);

    /** The vector form of {@link F32Kernels#dotReducedRows}. */
    static void dotRows(DType type, float[] x, int xOffset, MemorySegment w, long row0, int rows, int n,
            float[] scales, int groupSize, float[] out, int outOffset) {
        // one loop per type: the widening is then a straight-line part of the loop body, never a branch
        switch (type) {
            case BF16 -> dotRowsBf16(x, xOffset, w, row0, rows, n, out, outOffset);
            case F16 -> dotRowsF16(x, xOffset, w, row0, rows, n, out, outOffset);
            case I8 -> dotRowsI8(x, xOffset, w, row0, rows, n, scales, groupSize, out, outOffset);
            default -> throw new IllegalArgumentException("type: expected bf16, f16 or i8, got " + type.label());
        }
    }

    private static void dotRowsBf16(float[] x, int xOffset, MemorySegment w, long row0, int rows, int n,
            float[] out, int outOffset) {
        int r = 0;
        for (; r + 3 < rows; r += 4) {
            long w0 = (row0 + r) * n;
            long w1 = w0 + n;
            long w2 = w1 + n;
            long w3 = w2 + n;
            FloatVector acc0 = FloatVector.zero(FLOATS);
            FloatVector acc1 = acc0;
            FloatVector acc2 = acc0;
            FloatVector acc3 = acc0;
            int i = 0;
            for (; i + SPAN <= n; i += LANES) {
                FloatVector xv = FloatVector.fromArray(FLOATS, x, xOffset + i);
                acc0 = xv.fma(bf16(w, w0 + i), acc0);
                acc1 = xv.fma(bf16(w, w1 + i), acc1);
                acc2 = xv.fma(bf16(w, w2 + i), acc2);
                acc3 = xv.fma(bf16(w, w3 + i), acc3);
            }
            out[outOffset + r] = VectorF32Kernels.sumLanes(acc0) + tail(DType.BF16, x, xOffset, w, w0, i, n);
            out[outOffset + r + 1] = VectorF32Kernels.sumLanes(acc1) + tail(DType.BF16, x, xOffset, w, w1, i, n);
            out[outOffset + r + 2] = VectorF32Kernels.sumLanes(acc2) + tail(DType.BF16, x, xOffset, w, w2, i, n);
            out[outOffset + r + 3] = VectorF32Kernels.sumLanes(acc3) + tail(DType.BF16, x, xOffset, w, w3, i, n);
        }
        for (; r < rows; r++) {
            long w0 = (row0 + r) * n;
            FloatVector acc = FloatVector.zero(FLOATS);
            int i = 0;
            for (; i + SPAN <= n; i += LANES) {
                acc = FloatVector.fromArray(FLOATS, x, xOffset + i).fma(bf16(w, w0 + i), acc);
            }
            out[outOffset + r] = VectorF32Kernels.sumLanes(acc) + tail(DType.BF16, x, xOffset, w, w0, i, n);
        }
    }

    /**
     * F16 rows, four at a time: a block of columns of the four rows is widened into a float array (the hardware
     * conversion, see {@link #f16}), then multiplied as float32 rows; the block stays in the L1 cache in between.
     */
    private static void dotRowsF16(float[] x, int xOffset, MemorySegment w, long row0, int rows, int n,
            float[] out, int outOffset) {
        float[] buf = F16_ROWS.get();
        int r = 0;
        for (; r + 3 < rows; r += 4) {
            long w0 = (row0 + r) * n;
            FloatVector acc0 = FloatVector.zero(FLOATS);
            FloatVector acc1 = acc0;
            FloatVector acc2 = acc0;
            FloatVector acc3 = acc0;
            float t0 = 0;
            float t1 = 0;
            float t2 = 0;
            float t3 = 0;
            for (int c0 = 0; c0 < n; c0 += F16_BLOCK) {
                int len = Math.min(F16_BLOCK, n - c0);
                for (int k = 0; k < 4; k++) {
                    f16(w, w0 + (long) k * n + c0, len, buf, k * F16_BLOCK);
                }
                int i = 0;
                for (; i + LANES <= len; i += LANES) {
                    FloatVector xv = FloatVector.fromArray(FLOATS, x, xOffset + c0 + i);
                    acc0 = xv.fma(FloatVector.fromArray(FLOATS, buf, i), acc0);
                    acc1 = xv.fma(FloatVector.fromArray(FLOATS, buf, F16_BLOCK + i), acc1);
                    acc2 = xv.fma(FloatVector.fromArray(FLOATS, buf, 2 * F16_BLOCK + i), acc2);
                    acc3 = xv.fma(FloatVector.fromArray(FLOATS, buf, 3 * F16_BLOCK + i), acc3);
                }
                for (; i < len; i++) {
                    float xi = x[xOffset + c0 + i];
                    t0 += xi * buf[i];
                    t1 += xi * buf[F16_BLOCK + i];
                    t2 += xi * buf[2 * F16_BLOCK + i];
                    t3 += xi * buf[3 * F16_BLOCK + i];
                }
            }
            out[outOffset + r] = VectorF32Kernels.sumLanes(acc0) + t0;
            out[outOffset + r + 1] = VectorF32Kernels.sumLanes(acc1) + t1;
            out[outOffset + r + 2] = VectorF32Kernels.sumLanes(acc2) + t2;
            out[outOffset + r + 3] = VectorF32Kernels.sumLanes(acc3) + t3;
        }
        for (; r < rows; r++) {
            long w0 = (row0 + r) * n;
            FloatVector acc = FloatVector.zero(FLOATS);
            float t = 0;
            for (int c0 = 0; c0 < n; c0 += F16_BLOCK) {
                int len = Math.min(F16_BLOCK, n - c0);
                f16(w, w0 + c0, len, buf, 0);
                int i = 0;
                for (; i + LANES <= len; i += LANES) {
                    acc = FloatVector.fromArray(FLOATS, x, xOffset + c0 + i).fma(FloatVector.fromArray(FLOATS, buf, i),
                            acc);
                }
                for (; i < len; i++) {
                    t += x[xOffset + c0 + i] * buf[i];
                }
            }
            out[outOffset + r] = VectorF32Kernels.sumLanes(acc) + t;
        }
    }

    /**
     * Int8 rows: within a run (a whole row, or one group) the products of the integers accumulate in a vector; at the
     * end of the run that vector is multiplied by the run's scale into the row's total, so each scale costs one
     * multiply per vector lane and run, never one per weight.
     */
    private static void dotRowsI8(float[] x, int xOffset, MemorySegment w, long row0, int rows, int n,
            float[] scales, int groupSize, float[] out, int outOffset) {
        int run = groupSize == 0 ? n : groupSize;
        int runs = n / run;
        int r = 0;
        for (; r + 3 < rows; r += 4) {
            long w0 = (row0 + r) * n;
            long w1 = w0 + n;
            long w2 = w1 + n;
            long w3 = w2 + n;
            int s0 = (int) ((row0 + r) * runs);
            FloatVector tot0 = FloatVector.zero(FLOATS);
            FloatVector tot1 = tot0;
            FloatVector tot2 = tot0;
            FloatVector tot3 = tot0;
            float t0 = 0;
            float t1 = 0;
            float t2 = 0;
            float t3 = 0;
            for (int g = 0; g < runs; g++) {
                int from = g * run;
                int end = from + run;
                FloatVector acc0 = FloatVector.zero(FLOATS);
                FloatVector acc1 = acc0;
                FloatVector acc2 = acc0;
                FloatVector acc3 = acc0;
                int i = from;
                for (; i + SPAN <= end; i += LANES) {
                    FloatVector xv = FloatVector.fromArray(FLOATS, x, xOffset + i);
                    acc0 = xv.fma(i8(w, w0 + i), acc0);
                    acc1 = xv.fma(i8(w, w1 + i), acc1);
                    acc2 = xv.fma(i8(w, w2 + i), acc2);
                    acc3 = xv.fma(i8(w, w3 + i), acc3);
                }
                float c0 = scales[s0 + g];
                float c1 = scales[s0 + runs + g];
                float c2 = scales[s0 + 2 * runs + g];
                float c3 = scales[s0 + 3 * runs + g];
                tot0 = acc0.fma(FloatVector.broadcast(FLOATS, c0), tot0);
                tot1 = acc1.fma(FloatVector.broadcast(FLOATS, c1), tot1);
                tot2 = acc2.fma(FloatVector.broadcast(FLOATS, c2), tot2);
                tot3 = acc3.fma(FloatVector.broadcast(FLOATS, c3), tot3);
                t0 += c0 * tail(DType.I8, x, xOffset, w, w0, i, end);
                t1 += c1 * tail(DType.I8, x, xOffset, w, w1, i, end);
                t2 += c2 * tail(DType.I8, x, xOffset, w, w2, i, end);
                t3 += c3 * tail(DType.I8, x, xOffset, w, w3, i, end);
            }
            out[outOffset + r] = VectorF32Kernels.sumLanes(tot0) + t0;
            out[outOffset + r + 1] = VectorF32Kernels.sumLanes(tot1) + t1;
            out[outOffset + r + 2] = VectorF32Kernels.sumLanes(tot2) + t2;
            out[outOffset + r + 3] = VectorF32Kernels.sumLanes(tot3) + t3;
        }
        for (; r < rows; r++) {
            long w0 = (row0 + r) * n;
            int s0 = (int) ((row0 + r) * runs);
            FloatVector tot = FloatVector.zero(FLOATS);
            float t = 0;
            for (int g = 0; g < runs; g++) {
                int from = g * run;
                int end = from + run;
                FloatVector acc = FloatVector.zero(FLOATS);
                int i = from;
                for (; i + SPAN <= end; i += LANES) {
                    acc = FloatVector.fromArray(FLOATS, x, xOffset + i).fma(i8(w, w0 + i), acc);
                }
                float c = scales[s0 + g];
                tot = acc.fma(FloatVector.broadcast(FLOATS, c), tot);
                t += c * tail(DType.I8, x, xOffset, w, w0, i, end);
            }
            out[outOffset + r] = VectorF32Kernels.sumLanes(tot) + t;
        }
    }

    /** {@code Σ x[xOffset+i]·w(base+i)} for {@code i} in {@code [from, end)}: the elements a vector step left. */
    private static float tail(DType type, float[] x, int xOffset, MemorySegment w, long base, int from, int end) {
        float s = 0;
        for (int i = from; i < end; i++) {
            s += x[xOffset + i] * ReducedWeights.widen(type, w, base + i);
        }
        return s;
    }

    /** The vector form of {@link F32Kernels#widenRows}. */
    static void widenRows(DType type, MemorySegment w, long row0, int rows, int n, float[] scales, int groupSize,
            float[] dst, int dstOffset) {
        int run = groupSize == 0 ? n : groupSize;
        int runs = n / run;
        if (type == DType.F16) {
            f16(w, row0 * n, Math.multiplyExact(rows, n), dst, dstOffset);
            return;
        }
        boolean int8 = type == DType.I8;
        for (int r = 0; r < rows; r++) {
            long base = (row0 + r) * n;
            int o = dstOffset + r * n;
            int s0 = (int) ((row0 + r) * runs);
            for (int g = 0; g < runs; g++) {
                int from = g * run;
                int end = from + run;
                float scale = int8 ? scales[s0 + g] : 1f;
                int i = from;
                for (; i + SPAN <= end; i += LANES) {
                    FloatVector v = int8 ? i8(w, base + i) : bf16(w, base + i);
                    (int8 ? v.mul(scale) : v).intoArray(dst, o + i);
                }
                for (; i < end; i++) {
                    float v = ReducedWeights.widen(type, w, base + i);
                    dst[o + i] = int8 ? v * scale : v;
                }
            }
        }
    }
}
