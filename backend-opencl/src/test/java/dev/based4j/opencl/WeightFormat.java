package dev.based4j.opencl;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Weight;

/**
 * The weight storage formats a test runs a kernel with. A weight of float64 values is stored in each as the API stores
 * it ({@link HostWeight#convert}: bf16 and f16 rounded to nearest even, int8 symmetric with float32 scales per output
 * channel or per group of inputs); {@link Stored#dequantized} holds exactly the numbers the stored weight stands for,
 * which the float64 reference multiplies by.
 */
enum WeightFormat {
    BF16(dev.based4j.tensor.WeightFormat.BF16),
    F16(dev.based4j.tensor.WeightFormat.F16),
    I8_PER_CHANNEL(dev.based4j.tensor.WeightFormat.INT8),
    I8_GROUPS_OF_32(dev.based4j.tensor.WeightFormat.int8(32)),
    I8_GROUPS_OF_128(dev.based4j.tensor.WeightFormat.int8(128));

    private final dev.based4j.tensor.WeightFormat format;

    WeightFormat(dev.based4j.tensor.WeightFormat format) {
        this.format = format;
    }

    /** A weight as the host holds it, and the type of the calls it is uploaded for (that of its int8 scales). */
    record Stored(HostWeight weight, DType compute) {
        /** Uploads it to {@code backend}; the caller closes the weight. */
        Weight upload(Backend backend) {
            return weight.upload(backend, compute);
        }

        /** @return the stored values (int8 without their scales) */
        HostTensor values() {
            return weight.values();
        }

        /** @return the values the weight stands for, as the float64 reference multiplies by them */
        double[] dequantized() {
            return weight.dequantized();
        }
    }

    /** Stores {@code w [rows, columns]} in this format, for calls in {@code dtype}. */
    Stored store(double[] w, int rows, int columns, DType dtype) {
        HostTensor source = HostTensor.of(w, Shape.of(rows, columns), DType.F64);
        return new Stored(HostWeight.convert("w", source, format), dtype);
    }

    @Override
    public String toString() {
        return format.type().label() + (format.type() != DType.I8 ? "" : format.groupSize() == 0 ? " per channel"
                : " groups of " + format.groupSize());
    }
}
