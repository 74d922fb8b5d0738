package dev.based4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TensorTypesTest {
    @Test
    void shapeRefusesEmptyAndNonPositiveDimensions() {
        assertThatThrownBy(Shape::of).hasMessage("shape: expected at least one dimension, got none");
        assertThatThrownBy(() -> Shape.of(2, 0, 3)).hasMessage("shape: dimension 1 must be >= 1, got 0 in [2, 0, 3]");
        assertThat(Shape.of(2, 3, 4).elementCount()).isEqualTo(24);
        assertThat(Shape.of(2, 3, 4).dim(-1)).isEqualTo(4);
    }

    @Test
    void hostTensorRoundsToFloatAndKeepsDoubles() {
        HostTensor d = HostTensor.of(new double[] {0.1, 1e-40, 3}, Shape.of(3));
        assertThat(d.toDoubleArray()).containsExactly(0.1, 1e-40, 3);
        assertThat(d.to(DType.F32).toDoubleArray()[0]).isEqualTo((double) 0.1f);
        assertThatThrownBy(() -> HostTensor.of(new float[2], Shape.of(3)))
                .hasMessage("data: expected 3 elements for shape [3], got 2");
    }

    @Test
    void dtypeParsesCaseInsensitively() {
        assertThat(DType.parse("F32")).isEqualTo(DType.F32);
        assertThat(DType.parse("bf16")).isEqualTo(DType.BF16);
        assertThatThrownBy(() -> DType.parse("q4")).hasMessage("dtype: expected one of f32, f64, bf16, f16, i8, got q4");
    }

    @Test
    void onlyF32AndF64AreComputeTypes() {
        assertThat(DType.compute()).containsExactly(DType.F32, DType.F64);
        assertThat(DType.BF16.isCompute()).isFalse();
    }

    @Test
    void bfloat16RoundsToNearestEvenAndWidensExactly() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        for (int i = 0; i < 10_000; i++) {
            float x = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-6, 7)));
            float back = DType.fromBf16(DType.toBf16(x));
            // the nearest bfloat16: within half a unit of its last place (2^-8 relative)
            assertThat(Math.abs(back - x)).as("bf16 of %s", x).isLessThanOrEqualTo(Math.abs(x) * 0x1p-8f);
            assertThat(DType.fromBf16(DType.toBf16(back))).as("exact again").isEqualTo(back);
        }
        assertThat(DType.fromBf16(DType.toBf16(Float.NaN))).isNaN();
        assertThat(DType.fromBf16(DType.toBf16(Float.POSITIVE_INFINITY))).isInfinite();
    }

    @Test
    void hostTensorsStoreAndReadEveryType() {
        for (DType t : DType.values()) {
            double[] values = t == DType.I8 ? new double[] {1, -2, 100, -128, 127} : new double[] {1.5, -2.25, 100, -128, 127};
            HostTensor h = HostTensor.of(values, Shape.of(5), t);
            assertThat(h.toDoubleArray()).as(t.label()).containsExactly(values);
        }
        assertThatThrownBy(() -> HostTensor.of(new double[] {128}, Shape.of(1), DType.I8))
                .hasMessageStartingWith("value: expected an int8 in -128..127, got 128");
    }
}
