package dev.based4j.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class OpenClBackendTest {
    private static Backend fresh() {
        return OpenClTestSupport.fresh();
    }

    @Test
    void declaresF64ExactlyWhenTheDeviceHasFp64() {
        try (Backend b = fresh()) {
            OpenClDevice d = b.unwrap(OpenClDevice.class).orElseThrow();
            assertThat(b.capabilities().precisions().contains(DType.F64)).isEqualTo(d.fp64());
            assertThat(b.capabilities().runsModels()).isTrue();
        }
    }

    @Test
    void allocatesZerosAndRoundTripsHeapAndNativeHostMemory() {
        try (Backend b = fresh(); Tensor z = b.allocate(Shape.of(3, 5), DType.F32)) {
            assertThat(b.download(z).toDoubleArray()).containsOnly(0.0);
            double[] values = {1.5, -2, 3.25, 4, 5};
            MemorySegment heap = MemorySegment.ofArray(values.clone());
            try (Tensor t = b.upload(HostTensor.wrap(heap, Shape.of(5), DType.F64))) {
                HostTensor back = HostTensor.wrap(MemorySegment.ofArray(new double[5]), Shape.of(5), DType.F64);
                b.download(t, back);
                assertThat(back.toDoubleArray()).containsExactly(values);
            }
        }
    }

    @Test
    void closingTheBackendFreesItsTensors() {
        Backend b = fresh();
        Tensor t = b.allocate(Shape.of(4), DType.F32);
        b.close();
        assertThat(t.isClosed()).isTrue();
        assertThatThrownBy(() -> b.allocate(Shape.of(1), DType.F32)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        b.close();
    }

    @Test
    void aClosedTensorSaysWhereItWasClosed() {
        try (Backend b = fresh()) {
            Tensor t = b.allocate(Shape.of(4), DType.F32);
            t.close();
            assertThatThrownBy(() -> b.silu(t)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("OpenClBackendTest");
        }
    }
}
