package dev.based4j.tensor;

import java.util.Locale;

/**
 * How a model stores the weights of its matrix products: every projection, the MLP, the token embedding and the
 * head. Norm, bias and convolution weights always stay in the compute type, and so do activations, states and
 * sums: a reduced format changes what is read, never what is accumulated.
 *
 * <ul>
 *   <li>{@link #F32}, {@link #F64}: the compute type itself (the weights as the activations).</li>
 *   <li>{@link #BF16}: bfloat16, each weight rounded to nearest even (8 significant bits); half the bytes of f32.</li>
 *   <li>{@link #F16}: IEEE binary16 (11 significant bits, largest value 65504); half the bytes of f32.</li>
 *   <li>{@link #INT8}: symmetric int8 with one scale per output channel (row):
 *       {@code scale = max|row| / 127}, {@code q = round(w / scale)}; a quarter of the bytes of f32, plus one f32
 *       scale per row. {@link #int8(int)}: one scale per group of {@code groupSize} inputs of a row instead.</li>
 * </ul>
 *
 * @param type the storage type: {@link DType#F32}, {@link DType#F64}, {@link DType#BF16}, {@link DType#F16} or
 *     {@link DType#I8}
 * @param groupSize for {@link DType#I8}: 0 for one scale per output channel, else the inputs one scale covers
 *     ({@link Weight#MIN_GROUP}..{@link Weight#MAX_GROUP}); 0 for the float types
 */
public record WeightFormat(DType type, int groupSize) {
    /** Weights in float32. */
    public static final WeightFormat F32 = new WeightFormat(DType.F32, 0);
    /** Weights in float64. */
    public static final WeightFormat F64 = new WeightFormat(DType.F64, 0);
    /** Weights in bfloat16. */
    public static final WeightFormat BF16 = new WeightFormat(DType.BF16, 0);
    /** Weights in IEEE binary16. */
    public static final WeightFormat F16 = new WeightFormat(DType.F16, 0);
    /** Weights in int8, one scale per output channel. */
    public static final WeightFormat INT8 = new WeightFormat(DType.I8, 0);

    /**
     * Validates the combination.
     *
     * @throws IllegalArgumentException naming the field that does not fit
     */
    public WeightFormat {
        if (type == null) {
            throw new IllegalArgumentException("type: expected f32, f64, bf16, f16 or i8, got null");
        }
        if (type != DType.I8 && groupSize != 0) {
            throw new IllegalArgumentException("groupSize: only int8 weights are grouped; expected 0 for "
                    + type.label() + ", got " + groupSize);
        }
        if (type == DType.I8 && groupSize != 0 && (groupSize < Weight.MIN_GROUP || groupSize > Weight.MAX_GROUP)) {
            throw new IllegalArgumentException("groupSize: expected 0 (one scale per output channel) or "
                    + Weight.MIN_GROUP + ".." + Weight.MAX_GROUP + ", got " + groupSize);
        }
    }

    /** @return the format that stores weights as {@code type} (for {@link DType#I8}: one scale per channel) */
    public static WeightFormat of(DType type) {
        return new WeightFormat(type, 0);
    }

    /** @return int8 with one scale per group of {@code groupSize} inputs (0: per output channel) */
    public static WeightFormat int8(int groupSize) {
        return new WeightFormat(DType.I8, groupSize);
    }

    /**
     * Parses a label: {@code f32}, {@code f64}, {@code bf16}, {@code f16}, {@code int8} (or {@code i8}), or
     * {@code int8-g<N>} for groups of {@code N} inputs (e.g. {@code int8-g64}); any case.
     *
     * @throws IllegalArgumentException naming the text when it is none of them
     */
    public static WeightFormat parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        switch (t) {
            case "f32" -> {
                return F32;
            }
            case "f64" -> {
                return F64;
            }
            case "bf16" -> {
                return BF16;
            }
            case "f16" -> {
                return F16;
            }
            case "int8", "i8" -> {
                return INT8;
            }
            default -> {
                if (t.startsWith("int8-g")) {
                    int group;
                    try {
                        group = Integer.parseInt(t.substring("int8-g".length()));
                    } catch (NumberFormatException e) {
                        group = -1;
                    }
                    if (group >= Weight.MIN_GROUP && group <= Weight.MAX_GROUP) {
                        return int8(group);
                    }
                }
                throw new IllegalArgumentException("weights: expected one of f32, f64, bf16, f16, int8 or int8-g<N>"
                        + " with N in " + Weight.MIN_GROUP + ".." + Weight.MAX_GROUP + ", got " + text);
            }
        }
    }

    /** @return the label {@link #parse} reads: {@code f32}, {@code bf16}, {@code int8}, {@code int8-g64}, ... */
    public String label() {
        if (type == DType.I8) {
            return groupSize == 0 ? "int8" : "int8-g" + groupSize;
        }
        return type.label();
    }

    /** @return whether the weights are stored in another type than the compute types (bf16, f16, int8) */
    public boolean isReduced() {
        return !type.isCompute();
    }

    /**
     * Checks that weights of this format multiply activations of {@code compute}: a compute-type format must be that
     * type (f32 weights do not multiply f64 activations); a reduced format fits either.
     *
     * @throws IllegalArgumentException naming both types when they do not fit
     */
    public void requireFits(DType compute) {
        if (compute == null || !compute.isCompute()) {
            throw new IllegalArgumentException("dtype: expected f32 or f64, got " + (compute == null ? null
                    : compute.label()));
        }
        if (type.isCompute() && type != compute) {
            throw new IllegalArgumentException("weights: " + label() + " weights need " + label()
                    + " activations, but the model computes in " + compute.label() + "; use weights "
                    + compute.label() + ", bf16, f16 or int8");
        }
    }

    /**
     * @return bytes a weight {@code [rows, columns]} takes in this format, its scales included (in {@code compute},
     *     the type scales are held in on a backend)
     * @throws ArithmeticException when the count does not fit in a {@code long}
     */
    public long bytes(long rows, long columns, DType compute) {
        long values = Math.multiplyExact(Math.multiplyExact(rows, columns), (long) type.byteSize());
        if (type != DType.I8) {
            return values;
        }
        long scales = groupSize == 0 ? rows : Math.multiplyExact(rows, (columns + groupSize - 1) / groupSize);
        return Math.addExact(values, Math.multiplyExact(scales, (long) compute.byteSize()));
    }

    @Override
    public String toString() {
        return label();
    }
}
