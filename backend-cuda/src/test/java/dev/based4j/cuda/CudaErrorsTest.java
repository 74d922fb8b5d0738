package dev.based4j.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.cuda.driver.CudaErrors;
import dev.based4j.cuda.driver.CudaException;
import org.junit.jupiter.api.Test;

class CudaErrorsTest {
    @Test
    void namesTheCodesTheProbeDistinguishes() {
        assertThat(CudaErrors.name(CudaErrors.NO_DEVICE)).isEqualTo("CUDA_ERROR_NO_DEVICE");
        assertThat(CudaErrors.name(CudaErrors.STUB_LIBRARY)).isEqualTo("CUDA_ERROR_STUB_LIBRARY");
        assertThat(CudaErrors.name(CudaErrors.UNSUPPORTED_PTX_VERSION)).isEqualTo("CUDA_ERROR_UNSUPPORTED_PTX_VERSION");
        assertThat(CudaErrors.name(CudaErrors.INVALID_PTX)).isEqualTo("CUDA_ERROR_INVALID_PTX");
        assertThat(CudaErrors.name(CudaErrors.NOT_FOUND)).isEqualTo("CUDA_ERROR_NOT_FOUND");
    }

    @Test
    void namesLaunchAndMemoryFailuresAsCudaHDoes() {
        assertThat(CudaErrors.name(2)).isEqualTo("CUDA_ERROR_OUT_OF_MEMORY");
        assertThat(CudaErrors.name(700)).isEqualTo("CUDA_ERROR_ILLEGAL_ADDRESS");
        assertThat(CudaErrors.name(701)).isEqualTo("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES");
        assertThat(CudaErrors.name(719)).isEqualTo("CUDA_ERROR_LAUNCH_FAILED");
        assertThat(CudaErrors.name(999)).isEqualTo("CUDA_ERROR_UNKNOWN");
    }

    @Test
    void namesAnUnknownCodeByItsNumber() {
        assertThat(CudaErrors.isKnown(12345)).isFalse();
        assertThat(CudaErrors.name(12345)).isEqualTo("CUDA_ERROR_12345");
    }

    @Test
    void exceptionMessageNamesTheCallTheErrorAndTheDescription() {
        CudaException e = new CudaException("cuMemAlloc_v2", 2, CudaErrors.name(2), "out of memory");
        assertThat(e.getMessage()).isEqualTo("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2) out of memory");
        assertThat(e.call()).isEqualTo("cuMemAlloc_v2");
        assertThat(e.code()).isEqualTo(2);
        assertThat(e.errorName()).isEqualTo("CUDA_ERROR_OUT_OF_MEMORY");
    }
}
