/**
 * A small typed ONNX graph builder over the protobuf classes of {@code ai.onnx.proto.OnnxMl}: values, nodes,
 * initializers, value infos with symbolic dimensions and the opset import. Used for the backend's kernels and for
 * model export.
 */
package dev.based4j.onnx.graph;
