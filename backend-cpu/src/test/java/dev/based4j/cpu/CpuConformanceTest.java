package dev.based4j.cpu;

import dev.based4j.Backends;
import dev.based4j.conformance.BackendConformanceKit;
import dev.based4j.Backend;

/** The conformance kit on the CPU backend, found through {@code ServiceLoader} like an application finds it. */
class CpuConformanceTest extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        return Backends.select("cpu");
    }
}
