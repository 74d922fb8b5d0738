package dev.based4j.cpu;

import dev.based4j.Backend;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The checks based4j makes before any kernel reach the caller through the CPU backend unchanged. */
class ValidationTest {
    private Backend backend;

    @BeforeEach
    void start() {
        backend = Fixture.backend();
    }

    @AfterEach
    void stop() {
        backend.close();
    }

    @Test
    void aKeyOfTheWrongShapeIsRejectedByName() {
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(4));
        try (Tensor q = backend.allocate(Shape.of(1, 2, 3, 4), DType.F32);
                Tensor k = backend.allocate(Shape.of(1, 2, 3, 5), DType.F32);
                Tensor v = backend.allocate(Shape.of(1, 2, 3, 6), DType.F32);
                LinearAttentionState state = LinearAttentionState.zeros(backend, 1, 2, 21, 6, DType.F32)) {
            assertThatThrownBy(() -> backend.linearAttentionPrefill(spec, q, k, v, state))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("k: expected shape [1, 2, 3, 4], got [1, 2, 3, 5]");
        }
    }

    @Test
    void aClosedTensorIsRejectedWithWhereItWasClosed() {
        Tensor x = backend.allocate(Shape.of(2, 3), DType.F32);
        x.close();
        assertThatThrownBy(() -> backend.silu(x)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("x: tensor closed").hasMessageContaining("ValidationTest");
    }

    @Test
    void aTensorOfAnotherBackendInstanceIsRejected() {
        try (Backend other = Fixture.backend(); Tensor foreign = other.allocate(Shape.of(2, 3), DType.F64);
                Tensor out = backend.allocate(Shape.of(2, 3), DType.F64)) {
            assertThatThrownBy(() -> backend.silu(foreign, out)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("x: expected a tensor of backend cpu");
        }
    }

    @Test
    void aClosedBackendRefusesWork() {
        backend.close();
        assertThatThrownBy(() -> backend.allocate(Shape.of(1), DType.F32)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }
}
