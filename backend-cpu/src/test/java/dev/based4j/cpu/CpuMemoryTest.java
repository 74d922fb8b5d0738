package dev.based4j.cpu;

import dev.based4j.Backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CpuMemoryTest {
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void allocatedTensorsReadAsZeros(DType dtype) {
        try (Backend backend = Fixture.backend()) {
            // allocate, dirty and free a few first, so fresh memory is not the only case
            for (int i = 0; i < 4; i++) {
                try (Tensor t = backend.upload(HostTensor.of(Fixture.gaussian(new Random(i), 4096, 1),
                        Shape.of(4096), dtype))) {
                    assertThat(Fixture.nonZero(Fixture.download(backend, t))).isTrue();
                }
            }
            try (Tensor t = backend.allocate(Shape.of(64, 64), dtype)) {
                assertThat(Fixture.download(backend, t)).containsOnly(0.0);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void uploadThenDownloadIsExact(DType dtype) {
        double[] data = Fixture.gaussian(new Random(9), 2 * 3 * 5, 1);
        try (Backend backend = Fixture.backend();
                Tensor t = backend.upload(HostTensor.of(data, Shape.of(2, 3, 5), dtype))) {
            assertThat(t.shape()).isEqualTo(Shape.of(2, 3, 5));
            assertThat(t.dtype()).isEqualTo(dtype);
            assertThat(Fixture.download(backend, t)).containsExactly(data);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void closingTheBackendClosesEveryTensorItStillOwns(DType dtype) {
        Backend backend = Fixture.backend();
        Tensor open = backend.allocate(Shape.of(3), dtype);
        Tensor closed = backend.allocate(Shape.of(3), dtype);
        closed.close();
        backend.close();
        assertThat(open.isClosed()).isTrue();
        assertThatThrownBy(() -> backend.download(open)).as("a tensor freed with its backend")
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }
}
