package dev.based4j.opencl;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;

/**
 * The weight storage formats a test runs a kernel with, and how a weight of float64 values is stored in each: bf16
 * and f16 round to the nearest value; int8 is symmetric, {@code scale = max|w| / 127} per output channel or per group
 * of inputs (the scale itself rounded to the call's type), {@code q = round(w / scale)}. {@link Stored#dequantized}
 * holds exactly the numbers the stored weight stands for: the float64 reference multiplies by those.
 */
enum WeightFormat {
    BF16(DType.BF16, 0),
    F16(DType.F16, 0),
    I8_PER_CHANNEL(DType.I8, 0),
    I8_GROUPS_OF_32(DType.I8, 32),
    I8_GROUPS_OF_128(DType.I8, 128);

    final DType type;
    final int groupSize;

    WeightFormat(DType type, int groupSize) {
        this.type = type;
        this.groupSize = groupSize;
    }

    /** A weight as the host holds it: values, scales (int8) and the values it stands for. */
    record Stored(HostTensor values, HostTensor scales, int groupSize, double[] dequantized) {
        /** Uploads it to {@code backend}; the caller closes the weight. */
        Weight upload(Backend backend) {
            Tensor v = backend.upload(values);
            if (scales == null) {
                return Weight.of(v);
            }
            try {
                return Weight.int8(v, backend.upload(scales), groupSize);
            } catch (RuntimeException e) {
                v.close();
                throw e;
            }
        }
    }

    /** Stores {@code w [rows, columns]} in this format, with scales in {@code dtype} for int8. */
    Stored store(double[] w, int rows, int columns, DType dtype) {
        Shape shape = Shape.of(rows, columns);
        if (type != DType.I8) {
            HostTensor values = HostTensor.of(w, shape, type);
            return new Stored(values, null, 0, values.toDoubleArray());
        }
        int group = groupSize == 0 ? columns : groupSize;
        int groups = columns / group;
        double[] scales = new double[rows * groups];
        double[] q = new double[w.length];
        double[] dequantized = new double[w.length];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                double max = 0;
                for (int c = g * group; c < (g + 1) * group; c++) {
                    max = Math.max(max, Math.abs(w[r * columns + c]));
                }
                double scale = max == 0 ? 1 : max / 127;
                scale = dtype == DType.F32 ? (float) scale : scale;
                scales[r * groups + g] = scale;
                for (int c = g * group; c < (g + 1) * group; c++) {
                    int i = r * columns + c;
                    q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scale)));
                    dequantized[i] = q[i] * scale;
                }
            }
        }
        Shape scaleShape = groupSize == 0 ? Shape.of(rows) : Shape.of(rows, groups);
        return new Stored(HostTensor.of(q, shape, DType.I8), HostTensor.of(scales, scaleShape, dtype), groupSize,
                dequantized);
    }

    @Override
    public String toString() {
        return type.label() + (type != DType.I8 ? "" : groupSize == 0 ? " per channel" : " groups of " + groupSize);
    }
}
