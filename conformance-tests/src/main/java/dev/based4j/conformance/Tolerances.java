package dev.based4j.conformance;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;
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
 * A result computed from weights stored in a reduced format (bf16, f16, int8) is checked twice: against the float64
 * reference on the weights as stored (dequantized), with the tolerance of the compute type above (the kernel reads
 * the format exactly), and against the float64 reference on the float weights, with the format's own tolerance
 * ({@link #ofWeights}: what storing the weights in that format costs):
 *
 * <pre>
 * what                               bf16    f16     int8 (per channel or group)
 * one product (linear, embedding)    1e-2    2e-3    2e-2
 * whole-model logits                 3e-2    5e-3    5e-2
 * </pre>
 *
 * (about four times what the CPU backend measures on the kit's cases: docs/weight-formats.md)
 *
 * and whole models stored so must pick the float64 model's greedy token at every position of the golden prompt.
 */
public final class Tolerances {
    /** The loosest tolerance of a reduced weight format ({@link #ofWeights}), kept for callers of the old flag. */
    public static final double REDUCED_PRECISION = 5e-2;

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
     * @param reducedPrecision whether the result comes from weights stored in bf16, f16 or int8 (then the loosest
     *     format tolerance; {@link #ofWeights} gives each format's own)
     * @return the largest relative error that passes
     */
    public static double of(DType dtype, Kind kind, boolean reducedPrecision) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(kind, "kind");
        return reducedPrecision ? REDUCED_PRECISION : of(dtype, kind);
    }

    /**
     * What storing weights in {@code format} may cost: the largest relative error of a result computed from the
     * stored weights against the float64 reference on the float weights. For {@link Kind#LOGITS} a whole model;
     * every other kind is one product ({@code linear}, {@code embedding}).
     *
     * @throws IllegalArgumentException when {@code format} stores weights in a compute type (no cost of its own)
     */
    public static double ofWeights(WeightFormat format, Kind kind) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(kind, "kind");
        boolean logits = kind == Kind.LOGITS;
        return switch (format.type()) {
            case BF16 -> logits ? 3e-2 : 1e-2;
            case F16 -> logits ? 5e-3 : 2e-3;
            case I8 -> logits ? 5e-2 : 2e-2;
            default -> throw new IllegalArgumentException("format: expected bf16, f16 or int8, got " + format.label());
        };
    }

    /**
     * @param dtype the precision the backend computed in (also with weights stored in a reduced format, checked
     *     against the reference on the weights as stored)
     * @param kind the kind of result
     * @return the largest relative error that passes
     */
    public static double of(DType dtype, Kind kind) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(kind, "kind");
        return switch (dtype) {
            case F64 -> kind == Kind.LOGITS ? 1e-9 : 1e-10;
            case F32 -> kind == Kind.SINGLE ? 1e-5 : 1e-4;
            default -> throw new IllegalArgumentException("dtype: expected a compute type (f32, f64), got "
                    + dtype.label());
        };
    }
}
