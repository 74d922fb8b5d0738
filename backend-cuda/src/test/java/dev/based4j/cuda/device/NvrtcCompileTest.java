package dev.based4j.cuda.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.cuda.CudaSettings;
import dev.based4j.cuda.driver.Nvrtc;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The run-time compilation path: every kernel source compiles with NVRTC (which needs no GPU) for the
 * architectures the build targets and for one the build does not package. Skipped where NVRTC is not installed;
 * point {@code based4j.cuda.nvrtcLibrary} at a {@code libnvrtc.so} to run it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NvrtcCompileTest {
    private Nvrtc nvrtc;

    @BeforeAll
    void load() {
        try {
            nvrtc = Nvrtc.load(CudaSettings.NVRTC_LIBRARY.value());
        } catch (RuntimeException e) {
            assumeTrue(false, "NVRTC not available here: " + e.getMessage());
        }
    }

    @Test
    void reportsItsVersion() {
        int[] v = nvrtc.version();
        assertThat(v[0]).as("NVRTC major version").isGreaterThanOrEqualTo(11);
    }

    @Test
    void everyModuleCompilesToPtxWithEveryKernelInBothPrecisions() {
        for (int cc : List.of(80, 90, 86)) {
            for (String module : KernelImages.MODULES) {
                String ptx = KernelImages.compile(nvrtc, module, cc);
                assertThat(ptx).as("%s for compute_%d", module, cc).contains(".target sm_" + cc);
                assertThat(ptx).as("%s for compute_%d has f32 and f64 kernels", module, cc)
                        .contains("_f32(").contains("_f64(");
            }
        }
    }

    @Test
    void aSourceErrorIsReportedWithTheCompilerLog() {
        try {
            nvrtc.compile("extern \"C\" __global__ void broken() { undeclared(); }", "broken.cu", java.util.Map.of(),
                    List.of("--gpu-architecture=compute_80"));
            throw new AssertionError("NVRTC accepted a source with an undeclared function");
        } catch (IllegalStateException e) {
            assertThat(e.getMessage()).contains("broken.cu").contains("undeclared");
        }
    }
}
