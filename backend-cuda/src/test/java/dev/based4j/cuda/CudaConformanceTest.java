package dev.based4j.cuda;

import dev.based4j.Backends;
import dev.based4j.conformance.BackendConformanceKit;
import dev.based4j.Availability;
import dev.based4j.Backend;
import org.junit.jupiter.api.Assumptions;

/**
 * The conformance kit on the CUDA backend, selected through {@code ServiceLoader} like an application selects it.
 * On a machine where the backend cannot run (no driver, no device) every case is reported skipped with the
 * probe's reason, never failed and never passed.
 */
class CudaConformanceTest extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        Availability a = new CudaBackendProvider().probe();
        Assumptions.assumeTrue(a.usable(), () -> "CUDA backend not usable here: " + a.reason());
        return Backends.select("cuda");
    }
}
