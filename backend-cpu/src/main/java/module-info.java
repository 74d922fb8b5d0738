/**
 * The CPU backend of based4j, the embedded default: pure-Java kernels in float64 (the reference path) and
 * float32, multi-threaded over batch and heads. Found through {@link java.util.ServiceLoader} as the provider
 * named {@code cpu}.
 */
module dev.based4j.cpu {
    requires transitive dev.based4j.api;
    // the fast float32 kernels; optional: without the module the plain loops run
    requires static jdk.incubator.vector;

    exports dev.based4j.cpu;

    provides dev.based4j.spi.BackendProvider with dev.based4j.cpu.CpuBackendProvider;
}
