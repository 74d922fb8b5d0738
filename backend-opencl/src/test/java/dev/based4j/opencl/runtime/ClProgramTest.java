package dev.based4j.opencl.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.opencl.OpenClBackendProvider;
import dev.based4j.opencl.OpenClException;
import dev.based4j.spi.Engine;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.lang.reflect.Field;
import org.junit.jupiter.api.Test;

class ClProgramTest {
    /** A backend of its own and the context its kernels run in (read from a kernel family, as no API hands it out). */
    private static Backend backend() {
        Availability a = new OpenClBackendProvider().probe();
        assumeTrue(a.usable(), () -> "no usable OpenCL device: " + a.reason());
        return new OpenClBackendProvider().create().open(OpenClBackendProvider.NAME);
    }

    private static ClContext contextOf(Backend b) throws ReflectiveOperationException {
        Object plumbing = Engine.behind(b).plumbing().orElseThrow();
        Field f = plumbing.getClass().getDeclaredField("cl");
        f.setAccessible(true);
        return (ClContext) f.get(plumbing);
    }

    @Test
    void aBuildFailureCarriesTheCompilersLog() throws ReflectiveOperationException {
        try (Backend b = backend()) {
            ClContext cl = contextOf(b);
            assertThatThrownBy(() -> cl.compile("broken", "__kernel void k(__global float* x) { x[0] = y; }", "").release())
                    .isInstanceOf(OpenClException.class)
                    .hasMessageContaining("clBuildProgram(broken")
                    .hasMessageContaining("CL_BUILD_PROGRAM_FAILURE")
                    .hasMessageContaining("build log")
                    .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("undeclared"));
        }
    }

    @Test
    void theBackendStaysUsableAfterAProgramFailedToBuild() throws ReflectiveOperationException {
        try (Backend b = backend()) {
            ClContext cl = contextOf(b);
            var x = b.upload(HostTensor.of(new double[] {-1, 0, 2}, Shape.of(3), DType.F32));
            var before = b.allocations();
            assertThatThrownBy(() -> cl.compile("broken", "__kernel void k(__global float* x) { x[0] = ; }", "")
                    .release()).isInstanceOf(OpenClException.class).hasMessageContaining("clBuildProgram(broken");
            try (var y = b.silu(x)) {
                assertThat(b.download(y).toDoubleArray()).as("silu after the failed build")
                        .containsExactly(Reference.silu(new double[] {-1, 0, 2}),
                                org.assertj.core.data.Offset.offset(1e-6));
            }
            assertThat(b.allocations().liveHandles()).as("live tensors after the failed build")
                    .isEqualTo(before.liveHandles());
            x.close();
        }
    }
}
