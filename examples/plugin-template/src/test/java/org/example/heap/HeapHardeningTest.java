package org.example.heap;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.conformance.hardening.BackendHardeningKit;

/**
 * The hardening kit on the heap backend: random invalid calls, many small calls without a leak, threads, and
 * failing kernels that leave states unchanged, for the families it supplies.
 */
class HeapHardeningTest extends BackendHardeningKit {
    @Override
    protected Backend createBackend() {
        return Backends.select("heap");
    }
}
