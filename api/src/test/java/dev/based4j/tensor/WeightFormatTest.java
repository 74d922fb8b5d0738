package dev.based4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class WeightFormatTest {
    /** A seeded Gaussian weight [rows, columns] in f32, scaled like a linear layer's. */
    static HostTensor weight(long seed, int rows, int columns) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[rows * columns];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian() / Math.sqrt(columns);
        }
        return HostTensor.of(v, Shape.of(rows, columns), DType.F32);
    }

    @Nested
    class Labels {
        @Test
        void parsesEveryFormatAndWritesItBack() {
            for (String label : new String[] {"f32", "f64", "bf16", "f16", "int8", "int8-g64", "int8-g32"}) {
                assertThat(WeightFormat.parse(label).label()).isEqualTo(label);
            }
            assertThat(WeightFormat.parse(" INT8 ")).isEqualTo(WeightFormat.INT8);
            assertThat(WeightFormat.parse("i8")).isEqualTo(WeightFormat.INT8);
            assertThat(WeightFormat.parse("int8-g128")).isEqualTo(WeightFormat.int8(128));
        }

        @Test
        void refusesUnknownLabelsAndGroupsOutOfRangeNamingThem() {
            assertThatThrownBy(() -> WeightFormat.parse("q4")).hasMessageStartingWith("weights: expected one of")
                    .hasMessageEndingWith("got q4");
            assertThatThrownBy(() -> WeightFormat.parse("int8-g8")).hasMessageEndingWith("got int8-g8");
            assertThatThrownBy(() -> WeightFormat.int8(8)).hasMessageStartingWith("groupSize: expected 0");
            assertThatThrownBy(() -> new WeightFormat(DType.BF16, 32)).hasMessageStartingWith("groupSize: only int8");
        }

        @Test
        void computeTypeWeightsMustBeTheActivationsType() {
            WeightFormat.BF16.requireFits(DType.F64);
            WeightFormat.F32.requireFits(DType.F32);
            assertThatThrownBy(() -> WeightFormat.F32.requireFits(DType.F64))
                    .hasMessageContaining("f32 weights need f32 activations");
        }

        @Test
        void countsTheBytesOfValuesAndScales() {
            assertThat(WeightFormat.F32.bytes(10, 64, DType.F32)).isEqualTo(2560);
            assertThat(WeightFormat.BF16.bytes(10, 64, DType.F32)).isEqualTo(1280);
            assertThat(WeightFormat.INT8.bytes(10, 64, DType.F32)).isEqualTo(640 + 40);
            assertThat(WeightFormat.int8(32).bytes(10, 64, DType.F64)).isEqualTo(640 + 20 * 8);
        }
    }

    @Nested
    class Conversion {
        @Test
        void bf16AndF16RoundEachWeightToNearest() {
            HostTensor w = weight(1, 7, 33);
            HostWeight bf16 = HostWeight.convert("w", w, WeightFormat.BF16);
            HostWeight f16 = HostWeight.convert("w", w, WeightFormat.F16);
            float[] v = w.toFloatArray();
            double[] b = bf16.dequantized();
            double[] h = f16.dequantized();
            for (int i = 0; i < v.length; i++) {
                assertThat(b[i]).as("bf16 of element %d, seed 1", i).isEqualTo(DType.fromBf16(DType.toBf16(v[i])));
                assertThat(h[i]).as("f16 of element %d, seed 1", i)
                        .isEqualTo(Float.float16ToFloat(Float.floatToFloat16(v[i])));
            }
            assertThat(bf16.values().segment().isReadOnly()).as("read-only: the CPU backend takes it in place").isTrue();
        }

        @Test
        void int8PerChannelKeepsEveryWeightWithinHalfAStepOfItsRow() {
            HostTensor w = weight(2, 9, 50);
            HostWeight q = HostWeight.convert("w", w, WeightFormat.INT8);
            assertThat(q.scales().shape()).isEqualTo(Shape.of(9));
            double[] back = q.dequantized();
            float[] v = w.toFloatArray();
            for (int r = 0; r < 9; r++) {
                double max = 0;
                for (int i = 0; i < 50; i++) {
                    max = Math.max(max, Math.abs(v[r * 50 + i]));
                }
                double scale = q.scales().getDouble(r);
                assertThat(scale).as("row %d scale, seed 2", r).isEqualTo((double) (float) (max / 127));
                for (int i = 0; i < 50; i++) {
                    assertThat(Math.abs(back[r * 50 + i] - v[r * 50 + i])).as("row %d column %d, seed 2", r, i)
                            .isLessThanOrEqualTo(scale / 2 * (1 + 1e-6));
                }
            }
        }

        @Test
        void int8PerGroupHasOneScalePerGroupOfARow() {
            HostTensor w = weight(3, 4, 64);
            HostWeight q = HostWeight.convert("w", w, WeightFormat.int8(16));
            assertThat(q.scales().shape()).isEqualTo(Shape.of(4, 4));
            assertThat(q.groupSize()).isEqualTo(16);
            double err = 0;
            double[] back = q.dequantized();
            float[] v = w.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                err = Math.max(err, Math.abs(back[i] - v[i]) / q.scales().getDouble(i / 16));
            }
            assertThat(err).as("error in steps of each group's scale, seed 3").isLessThanOrEqualTo(0.5 + 1e-6);
        }

        @Test
        void aZeroRowQuantizesToZeros() {
            HostWeight q = HostWeight.convert("w", HostTensor.of(new double[8], Shape.of(2, 4)), WeightFormat.INT8);
            assertThat(q.dequantized()).containsOnly(0.0);
        }

        @Test
        void refusesWhatTheFormatCannotHoldNamingTheTensor() {
            HostTensor big = HostTensor.of(new double[] {1, 70000, 3, 4}, Shape.of(2, 2));
            assertThatThrownBy(() -> HostWeight.convert("mlp.fc1.weight", big, WeightFormat.F16))
                    .hasMessageContaining("'mlp.fc1.weight'").hasMessageContaining("beyond the range of f16");
            HostTensor nan = HostTensor.of(new double[] {1, Double.NaN, 3, 4}, Shape.of(2, 2));
            assertThatThrownBy(() -> HostWeight.convert("proj_q.weight", nan, WeightFormat.INT8))
                    .hasMessageContaining("'proj_q.weight'").hasMessageContaining("must be finite");
            assertThatThrownBy(() -> HostWeight.convert("w", weight(4, 2, 40), WeightFormat.int8(16)))
                    .hasMessageContaining("groups of 16 do not divide");
        }
    }

    @Nested
    class StoredInt8 {
        HostTensor values = HostTensor.of(new double[] {1, -2, 3, 4, 5, -6, 7, 8}, Shape.of(2, 4), DType.I8);

        @Test
        void infersTheGroupFromTheScalesShape() {
            HostWeight perRow = HostWeight.stored("w", values, HostTensor.of(new double[] {0.5, 0.25}, Shape.of(2)));
            assertThat(perRow.format()).isEqualTo(WeightFormat.INT8);
            assertThat(perRow.dequantized()).containsExactly(0.5, -1, 1.5, 2, 1.25, -1.5, 1.75, 2);
        }

        @Test
        void refusesScalesOfTheWrongShapeTypeOrValueNamingThem() {
            assertThatThrownBy(() -> HostWeight.stored("w", values, HostTensor.of(new double[] {1, 1, 1},
                    Shape.of(3)))).hasMessageContaining("'w.scales' expected shape [2]");
            assertThatThrownBy(() -> HostWeight.stored("w", values, HostTensor.of(new double[] {1, Double.NaN},
                    Shape.of(2)))).hasMessageContaining("'w.scales' element 1 is NaN");
            assertThatThrownBy(() -> HostWeight.stored("w", values, HostTensor.of(new double[] {1, 1}, Shape.of(2),
                    DType.BF16))).hasMessageContaining("'w.scales' expected f32 or f64 scales");
            assertThatThrownBy(() -> HostWeight.stored("w", values, null)).hasMessageContaining("'w.scales' is missing");
        }
    }
}
