/**
 * The ONNX Runtime backend of based4j: every kernel of the surface as an ONNX graph built in memory and run by
 * ONNX Runtime, and export of whole BASED models to {@code .onnx} files.
 */
module dev.based4j.onnx {
    requires transitive dev.based4j.api;
    requires com.microsoft.onnxruntime;
    requires org.tribuo.util.onnx;
    requires com.google.protobuf;
    // the machine's memory, which bounds the intermediates of a graph run (ScratchBudget)
    requires jdk.management;
    requires static info.picocli;

    exports dev.based4j.onnx;
    exports dev.based4j.onnx.export;
    // ExportOnnxCommand is read by picocli through reflection
    opens dev.based4j.onnx.export to info.picocli;

    provides dev.based4j.spi.BackendProvider with
            dev.based4j.onnx.OnnxBackendProvider,
            dev.based4j.onnx.OnnxCudaBackendProvider;
}
