package dev.based4j.conformance.hardening;

import dev.based4j.conformance.testing.ReferenceBackend;
import dev.based4j.Backend;

/** The JUnit kit itself, on the reference test double, at a size for a self-test. */
class ReferenceHardeningKitTest extends BackendHardeningKit {
    @Override
    protected Backend createBackend() {
        return ReferenceBackend.create();
    }

    @Override
    protected HardeningScale scale() {
        return new HardeningScale("self-test", 300, 100, 200, 5, 4, 5);
    }
}
