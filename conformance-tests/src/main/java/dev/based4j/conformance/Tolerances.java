package dev.based4j.conformance;

import dev.based4j.tensor.DType;
import java.util.Objects;

/**
 * The tolerances of {@code sdk-conventions.md} on the relative error {@code max|out − ref| / max(1, max|ref|)}:
 *
 * <pre>
 * what                                                 f64     f32
 * feature map, single attention kernels, layers        1e-10   1e-5
 * long sequences (states grow like seq), fused layer   1e-10   1e-4
 * whole-model logits                                   1e-9    1e-4
 * </pre>
 *
 * A result computed from weights stored in bf16, f16 or int8 is held to 2e-2.
 */
public final class Tolerances {
    /** Tolerance of a backend that stores or multiplies in bf16/fp16. */
    public static final double REDUCED_PRECISION = 2e-2;

    private Tolerances() {}

    /** What kind of result is compared. */
    public enum Kind {
        /** Feature maps, single attention kernels, plumbing, layers. */
        SINGLE,
        /** Long sequences and recurrent states whose sums grow like the sequence length. */
        LONG,
        /** The fused linear-plus-window layer. */
        FUSED,
        /** Whole-model logits. */
        LOGITS
    }

    /**
     * @param dtype the precision the backend computed in
     * @param kind the kind of result
     * @param reducedPrecision whether the result comes from weights stored in bf16, f16 or int8
     * @return the largest relative error that passes
     */
    public static double of(DType dtype, Kind kind, boolean reducedPrecision) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(kind, "kind");
        if (reducedPrecision) {
            return REDUCED_PRECISION;
        }
        return switch (dtype) {
            case F64 -> kind == Kind.LOGITS ? 1e-9 : 1e-10;
            case F32 -> kind == Kind.SINGLE ? 1e-5 : 1e-4;
            default -> throw new IllegalArgumentException("dtype: expected a compute type (f32, f64), got "
                    + dtype.label());
        };
    }
}
