package dev.based4j.conformance;

import dev.based4j.conformance.testing.ReferenceBackend;
import dev.based4j.Backend;

/**
 * The kit on the float64 reference test double: every case must pass (this proves the catalogue's reference
 * computations, the golden reader and the layouts it reshuffles), and the whole-model golden case is skipped
 * until a model runner is present.
 */
class ReferenceBackendConformanceTest extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        return ReferenceBackend.create();
    }
}
