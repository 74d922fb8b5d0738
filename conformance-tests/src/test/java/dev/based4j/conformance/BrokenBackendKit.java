package dev.based4j.conformance;

import dev.based4j.conformance.testing.Mutants;
import dev.based4j.Backend;

/** The kit on a backend with an approximate GELU; run by {@link KitSelfTest}, never by surefire directly. */
class BrokenBackendKit extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        return new Mutants.ApproximateGelu().backend();
    }
}
