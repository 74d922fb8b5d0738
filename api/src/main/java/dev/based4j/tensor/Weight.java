package dev.based4j.tensor;

/**
 * A weight matrix {@code [out, in]} (or an embedding table {@code [vocab, d]}) as a backend holds it: its values in a
 * storage type, and, for {@link DType#I8}, the scales that turn them back into numbers. Kernels that take a weight
 * multiply by {@code values · scale} and accumulate in the compute type of their other arguments.
 *
 * <ul>
 *   <li>Float storage ({@link DType#F32}, {@link DType#F64}, {@link DType#BF16}, {@link DType#F16}): {@code scales}
 *       is null and {@code groupSize} is 0.</li>
 *   <li>{@link DType#I8}, symmetric, one scale per output channel: {@code scales [out]}, {@code groupSize} 0; the
 *       value of element {@code (o, i)} is {@code values[o, i] · scales[o]}.</li>
 *   <li>{@link DType#I8}, one scale per group of {@code groupSize} inputs: {@code scales [out, in / groupSize]};
 *       {@code values[o, i] · scales[o, i / groupSize]}.</li>
 * </ul>
 * Scales are in a compute type (that of the activations the weight multiplies). Closing a weight closes both tensors.
 *
 * @param values {@code [out, in]}
 * @param scales as above, or null
 * @param groupSize inputs per scale, or 0 for one scale per output channel (and for float storage)
 */
public record Weight(Tensor values, Tensor scales, int groupSize) implements AutoCloseable {
    /** Smallest and largest group of inputs one int8 scale covers. */
    public static final int MIN_GROUP = 16;
    /** Largest group of inputs one int8 scale covers. */
    public static final int MAX_GROUP = 4096;

    /**
     * Validates the combination (shapes and types of the tensors are checked by the kernels that take it).
     *
     * @throws IllegalArgumentException naming the field that does not fit
     */
    public Weight {
        if (values == null) {
            throw new IllegalArgumentException("values: expected a tensor, got null");
        }
        boolean int8 = values.dtype() == DType.I8;
        if (int8 && scales == null) {
            throw new IllegalArgumentException("scales: int8 values need scales, got null");
        }
        if (!int8 && scales != null) {
            throw new IllegalArgumentException("scales: only int8 values take scales; values are "
                    + values.dtype().label());
        }
        if (!int8 && groupSize != 0) {
            throw new IllegalArgumentException("groupSize: only int8 values are grouped; expected 0, got " + groupSize);
        }
        if (int8 && groupSize != 0 && (groupSize < MIN_GROUP || groupSize > MAX_GROUP)) {
            throw new IllegalArgumentException("groupSize: expected 0 (per output channel) or " + MIN_GROUP + ".."
                    + MAX_GROUP + ", got " + groupSize);
        }
        if (scales != null && !scales.dtype().isCompute()) {
            throw new IllegalArgumentException("scales: expected f32 or f64 scales, got " + scales.dtype().label());
        }
    }

    /** A weight stored in a float type: {@code values} alone. */
    public static Weight of(Tensor values) {
        return new Weight(values, null, 0);
    }

    /** An int8 weight with one scale per output channel ({@code scales [out]}). */
    public static Weight int8(Tensor values, Tensor scales) {
        return new Weight(values, scales, 0);
    }

    /** An int8 weight with one scale per group of {@code groupSize} inputs ({@code scales [out, in / groupSize]}). */
    public static Weight int8(Tensor values, Tensor scales, int groupSize) {
        return new Weight(values, scales, groupSize);
    }

    /** @return the storage type of the values */
    public DType type() {
        return values.dtype();
    }

    /** @return the shape of the values */
    public Shape shape() {
        return values.shape();
    }

    /** Closes the values and the scales. Idempotent. */
    @Override
    public void close() {
        try (Tensor s = scales) {
            values.close();
        }
    }
}
