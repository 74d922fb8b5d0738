/**
 * The kernels of the based4j surface as ONNX graphs, one class per kernel family (the same names as in the other
 * backends). Each class implements its family of {@code dev.based4j.spi} over {@link dev.based4j.onnx.kernels.OnnxBuffer}
 * (running its standalone graphs through the backend's {@link dev.based4j.onnx.kernels.SessionCache}) and offers the
 * subgraph methods that model export composes into whole-model graphs.
 */
package dev.based4j.onnx.kernels;
