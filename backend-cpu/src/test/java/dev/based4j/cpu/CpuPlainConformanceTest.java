package dev.based4j.cpu;

import dev.based4j.conformance.BackendConformanceKit;
import dev.based4j.cpu.kernels.PlainF32Kernels;
import dev.based4j.Backend;

/**
 * The conformance kit on the CPU backend with its plain-Java float32 loops, the path that runs where the Vector
 * API is absent or {@code based4j.cpu.noVector} is set; {@link CpuConformanceTest} covers the selected path.
 */
class CpuPlainConformanceTest extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        return CpuEngine.create(Fixture.THREADS, new PlainF32Kernels()).open("cpu");
    }
}
