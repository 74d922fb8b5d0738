/** The based4j command line. Backends are found at run time through {@link java.util.ServiceLoader}. */
module dev.based4j.examples {
    requires dev.based4j.api;
    requires dev.based4j.conformance;
    requires dev.based4j.recall;
    requires info.picocli;
    requires dev.based4j.model;
    requires dev.based4j.server;
    requires java.net.http;
    requires dev.based4j.onnx;
    requires me.tongfei.progressbar;
    requires com.fasterxml.jackson.databind;
    requires org.knowm.xchart;
    requires java.management;
    // the chart's colours (java.awt.Color)
    requires java.desktop;
    requires jdk.management;
    // MachinePeak's FMA loop; optional: without the module the peak is not measured, and says so
    requires static jdk.incubator.vector;
    // MachinePeak reads the OpenCL device's type (a CPU device is bounded by this machine's peak)
    requires static dev.based4j.opencl;

    opens dev.based4j.examples to info.picocli;
    exports dev.based4j.examples;

    uses dev.based4j.spi.BackendProvider;
    // golden tiny_lm cases of `based4j conformance` go through the model module's checkpoint loading
    provides dev.based4j.conformance.GoldenModelRunner with dev.based4j.examples.ModelGoldenRunner;
}
