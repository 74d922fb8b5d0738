/**
 * JMH benchmarks of based4j: every kernel at realistic shapes, the machine's FMA peak and memory bandwidth, and
 * end-to-end prefill and decode of a 360M-shaped BASED stack. Each benchmark takes the backend by name
 * ({@code -p backend=cpu}); backends are found through {@link java.util.ServiceLoader}.
 *
 * <p>JMH's annotation processor writes its harness classes into {@code dev.based4j.benchmarks.jmh_generated}.
 * JMH's runner (module {@code jmh.core}) finds them by name and calls them, and the generated code reads and
 * writes the {@code @State} and {@code @Param} fields of the benchmark classes by reflection (with
 * {@code setAccessible}); both packages are therefore opened to {@code jmh.core}. In practice the benchmarks run
 * from the shaded {@code benchmarks.jar} on the class path, because JMH forks its measurement JVMs with
 * {@code -cp}; this descriptor is for building and for embedding the benchmarks on the module path.
 */
module dev.based4j.benchmarks {
    requires dev.based4j.api;
    requires dev.based4j.model;
    // the CPU backend's and ONNX Runtime's thread settings are a benchmark parameter
    requires dev.based4j.cpu;
    requires dev.based4j.onnx;
    requires jmh.core;
    requires jdk.incubator.vector;

    exports dev.based4j.benchmarks;

    opens dev.based4j.benchmarks to jmh.core;
    opens dev.based4j.benchmarks.jmh_generated to jmh.core;

    uses dev.based4j.spi.BackendProvider;
}
