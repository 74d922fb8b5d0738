package dev.based4j.onnx.export;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model's weights with every matrix weight (rank 2: the projections, the MLP, the embedding, the head) stored in a
 * reduced format, as a checkpoint in that format holds them, and the float64 weights they stand for. Int8 is
 * symmetric ({@code scale = max|run| / 127} in float32, {@code q = round(w / scale)}), its scales under
 * {@code <name>.scales}.
 */
enum ReducedWeights {
    BF16(DType.BF16, 0),
    F16(DType.F16, 0),
    INT8(DType.I8, 0),
    INT8_GROUPS_OF_16(DType.I8, 16);

    final DType type;
    final int groupSize;

    ReducedWeights(DType type, int groupSize) {
        this.type = type;
        this.groupSize = groupSize;
    }

    /** The format's label as the exporter writes it into the model's metadata. */
    String label() {
        return type != DType.I8 ? type.label() : groupSize == 0 ? "int8" : "int8-g" + groupSize;
    }

    /** Both sides of a conversion: what the exporter is given, and the float64 weights it stands for. */
    record Converted(Map<String, HostTensor> stored, Map<String, HostTensor> dequantized) {}

    Converted convert(Map<String, HostTensor> weights) {
        Map<String, HostTensor> stored = new LinkedHashMap<>();
        Map<String, HostTensor> dequantized = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : weights.entrySet()) {
            String name = e.getKey();
            HostTensor t = e.getValue();
            if (t.shape().rank() != 2) {
                stored.put(name, t);
                dequantized.put(name, t.to(DType.F64));
                continue;
            }
            if (type != DType.I8) {
                HostTensor values = t.to(type);
                stored.put(name, values);
                dequantized.put(name, values.to(DType.F64));
                continue;
            }
            int rows = t.shape().dim(0);
            int columns = t.shape().dim(1);
            int run = groupSize == 0 ? columns : groupSize;
            int runs = columns / run;
            double[] w = t.toDoubleArray();
            double[] q = new double[w.length];
            double[] scales = new double[rows * runs];
            double[] deq = new double[w.length];
            for (int r = 0; r < rows; r++) {
                for (int g = 0; g < runs; g++) {
                    double max = 0;
                    for (int c = g * run; c < (g + 1) * run; c++) {
                        max = Math.max(max, Math.abs(w[r * columns + c]));
                    }
                    double scale = max == 0 ? 1 : (float) (max / 127);
                    scales[r * runs + g] = scale;
                    for (int c = g * run; c < (g + 1) * run; c++) {
                        int i = r * columns + c;
                        q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scale)));
                        deq[i] = q[i] * scale;
                    }
                }
            }
            stored.put(name, HostTensor.of(q, t.shape(), DType.I8));
            stored.put(name + ".scales", HostTensor.of(scales, groupSize == 0 ? Shape.of(rows) : Shape.of(rows, runs),
                    DType.F32));
            dequantized.put(name, HostTensor.of(deq, t.shape(), DType.F64));
        }
        return new Converted(stored, dequantized);
    }

    @Override
    public String toString() {
        return label();
    }
}
