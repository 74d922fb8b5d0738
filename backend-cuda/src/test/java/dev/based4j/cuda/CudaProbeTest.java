package dev.based4j.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backends;
import dev.based4j.Availability;
import dev.based4j.spi.BackendProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CudaProbeTest {
    private static final String PROPERTY = "based4j.cuda.driverLibrary";
    private final String saved = System.getProperty(PROPERTY);

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty(PROPERTY);
        } else {
            System.setProperty(PROPERTY, saved);
        }
    }

    @Test
    void isFoundByServiceLoaderUnderItsName() {
        assertThat(Backends.provider("cuda")).get().isInstanceOf(CudaBackendProvider.class);
    }

    @Test
    void reportsAMissingDriverLibraryAsUnusableWithReasonAndFix() {
        System.setProperty(PROPERTY, "/nonexistent/based4j-test/libcuda.so.1");
        Availability a = new CudaBackendProvider().probe();
        assertThat(a.usable()).as("usable with a driver library that does not exist").isFalse();
        assertThat(a.reason()).contains("no CUDA driver library").contains("/nonexistent/based4j-test/libcuda.so.1");
        assertThat(a.fix()).contains("NVIDIA driver").contains("based4j.backend=cpu");
    }

    @Test
    void reportsALibraryThatIsNotTheDriverAsUnusable() {
        // libc loads fine but has no CUDA functions: the binding must refuse it without calling anything
        System.setProperty(PROPERTY, "libc.so.6");
        Availability a = new CudaBackendProvider().probe();
        assertThat(a.usable()).isFalse();
        assertThat(a.reason()).contains("libc.so.6").contains("cuInit");
    }

    @Test
    void reportsAnUnknownKernelSourceSettingAsUnusable() {
        String saved = System.getProperty("based4j.cuda.kernels");
        System.setProperty("based4j.cuda.kernels", "fastest");
        try {
            Availability a = new CudaBackendProvider().probe();
            assertThat(a.usable()).isFalse();
            assertThat(a.reason()).contains("based4j.cuda.kernels").contains("fastest");
            assertThat(a.fix()).contains("auto, ptx or nvrtc");
        } finally {
            if (saved == null) {
                System.clearProperty("based4j.cuda.kernels");
            } else {
                System.setProperty("based4j.cuda.kernels", saved);
            }
        }
    }

    @Test
    void createRefusesWithTheProbesReasonWhenUnusable() {
        System.setProperty(PROPERTY, "/nonexistent/based4j-test/libcuda.so.1");
        BackendProvider p = new CudaBackendProvider();
        assertThatThrownBy(p::create).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot run here").hasMessageContaining("no CUDA driver library");
    }

    @Test
    void probeOnThisMachineNeverThrowsAndExplainsItself() {
        Availability a = new CudaBackendProvider().probe();
        if (a.usable()) {
            assertThat(a.device()).as("device description").isNotBlank();
        } else {
            assertThat(a.reason()).as("reason").isNotBlank();
            assertThat(a.fix()).as("fix").isNotBlank();
        }
    }
}
