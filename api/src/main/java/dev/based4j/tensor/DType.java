package dev.based4j.tensor;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;

/** Element type of a tensor. */
public enum DType {
    /** IEEE-754 binary32. */
    F32(4, ValueLayout.JAVA_FLOAT_UNALIGNED),
    /** IEEE-754 binary64; the reference precision. */
    F64(8, ValueLayout.JAVA_DOUBLE_UNALIGNED);

    private final int byteSize;
    private final MemoryLayout layout;

    DType(int byteSize, MemoryLayout layout) {
        this.byteSize = byteSize;
        this.layout = layout;
    }

    /** @return bytes per element */
    public int byteSize() {
        return byteSize;
    }

    /** @return the little-endian, unaligned value layout of one element */
    public MemoryLayout layout() {
        return layout;
    }

    /** @return lower-case name as used on the command line and in messages ({@code f32}, {@code f64}) */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Parses {@code f32}/{@code f64} (any case).
     *
     * @throws IllegalArgumentException naming the value when it is neither
     */
    public static DType parse(String text) {
        if (text != null) {
            for (DType t : values()) {
                if (t.name().equalsIgnoreCase(text.strip())) {
                    return t;
                }
            }
        }
        throw new IllegalArgumentException("dtype: expected one of f32, f64, got " + text);
    }
}
