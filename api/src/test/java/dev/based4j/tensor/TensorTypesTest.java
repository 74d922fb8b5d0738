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
        assertThatThrownBy(() -> DType.parse("bf16")).hasMessage("dtype: expected one of f32, f64, got bf16");
    }
}
