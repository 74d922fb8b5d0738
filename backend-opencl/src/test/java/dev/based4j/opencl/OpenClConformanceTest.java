package dev.based4j.opencl;

import dev.based4j.Backends;
import dev.based4j.conformance.BackendConformanceKit;
import dev.based4j.Availability;
import dev.based4j.Backend;
import org.junit.jupiter.api.Assumptions;

/**
 * The conformance kit and every golden case on the OpenCL backend, found through {@code ServiceLoader}. Without a
 * usable OpenCL device every case is skipped with the probe's reason, never failed.
 */
class OpenClConformanceTest extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        Availability a = new OpenClBackendProvider().probe();
        Assumptions.assumeTrue(a.usable(), () -> "no usable OpenCL device: " + a.reason() + " (fix: " + a.fix() + ")");
        return Backends.select("opencl");
    }
}
