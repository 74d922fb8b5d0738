/**
 * The based4j API: tensors, feature maps, attention specs, recurrent states, layers, the backend SPI,
 * backend selection and the float64 reference math. It has no run-time dependencies.
 */
module dev.based4j.api {
    exports dev.based4j;
    exports dev.based4j.tensor;
    exports dev.based4j.featuremap;
    exports dev.based4j.attention;
    exports dev.based4j.state;
    exports dev.based4j.layer;
    exports dev.based4j.reference;
    exports dev.based4j.spi;
    // dev.based4j.internal is the implementation of Backend over an engine: not exported

    uses dev.based4j.spi.BackendProvider;
}
