package dev.based4j.tensor;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Element type of a tensor. Kernels compute in {@link #F32} or {@link #F64} (the {@link #compute()} types: activations,
 * states, outputs); weights may also be stored in {@link #BF16}, {@link #F16} or {@link #I8} (with scales, see
 * {@link Weight}) where a backend takes them.
 */
public enum DType {
    /** IEEE-754 binary32. */
    F32(4, ValueLayout.JAVA_FLOAT_UNALIGNED, true),
    /** IEEE-754 binary64; the reference precision. */
    F64(8, ValueLayout.JAVA_DOUBLE_UNALIGNED, true),
    /** bfloat16: the upper half of a binary32 (8 exponent bits, 7 mantissa bits); a weight storage type. */
    BF16(2, ValueLayout.JAVA_SHORT_UNALIGNED, false),
    /** IEEE-754 binary16 (5 exponent bits, 10 mantissa bits); a weight storage type. */
    F16(2, ValueLayout.JAVA_SHORT_UNALIGNED, false),
    /** Signed 8-bit integers, scaled per output channel or group of a weight ({@link Weight}); a weight storage type. */
    I8(1, ValueLayout.JAVA_BYTE, false);

    private static final List<DType> COMPUTE = List.of(F32, F64);

    private final int byteSize;
    private final MemoryLayout layout;
    private final boolean compute;

    DType(int byteSize, MemoryLayout layout, boolean compute) {
        this.byteSize = byteSize;
        this.layout = layout;
        this.compute = compute;
    }

    /** @return the types kernels compute in, {@code [F32, F64]} */
    public static List<DType> compute() {
        return COMPUTE;
    }

    /** @return whether kernels compute in this type (F32, F64), rather than only store weights in it */
    public boolean isCompute() {
        return compute;
    }

    /** @return bytes per element */
    public int byteSize() {
        return byteSize;
    }

    /** @return the little-endian, unaligned value layout of one element (raw bits for BF16 and F16) */
    public MemoryLayout layout() {
        return layout;
    }

    /** @return lower-case name as used on the command line and in messages ({@code f32}, {@code bf16}, ...) */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Parses a label ({@code f32}, {@code f64}, {@code bf16}, {@code f16}, {@code i8}; any case).
     *
     * @throws IllegalArgumentException naming the value when it is none of them
     */
    public static DType parse(String text) {
        if (text != null) {
            for (DType t : values()) {
                if (t.name().equalsIgnoreCase(text.strip())) {
                    return t;
                }
            }
        }
        throw new IllegalArgumentException("dtype: expected one of f32, f64, bf16, f16, i8, got " + text);
    }

    /** @return the bfloat16 nearest {@code value} (round to nearest even), as its 16 bits */
    public static short toBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** @return the value of the bfloat16 {@code bits} */
    public static float fromBf16(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
