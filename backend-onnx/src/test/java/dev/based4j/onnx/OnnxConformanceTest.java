package dev.based4j.onnx;

import dev.based4j.Backends;
import dev.based4j.conformance.BackendConformanceKit;
import dev.based4j.Backend;

/** The whole conformance kit and every golden case on the {@code onnx} backend (CPU execution provider). */
class OnnxConformanceTest extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        return Backends.select("onnx");
    }
}
