package org.example.heap;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.conformance.BackendConformanceKit;

/**
 * The conformance kit on the heap backend: every case of what it supplies (the Taylor feature map and linear
 * attention, F32 and F64) against the float64 reference and the golden vectors; everything else is reported
 * skipped, with the reason, never passed.
 */
class HeapConformanceTest extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        return Backends.select("heap");
    }
}
