/**
 * The ONNX Runtime backend: {@link dev.based4j.onnx.OnnxBackendProvider} (backend {@code onnx}, CPU execution
 * provider) and {@link dev.based4j.onnx.OnnxCudaBackendProvider} (backend {@code onnx-cuda}, CUDA execution
 * provider with the GPU build of ONNX Runtime), whose engine ({@link dev.based4j.onnx.OnnxEngine}) runs every kernel
 * as an ONNX graph built in memory and compiled once per kernel, spec and precision. Settings:
 * {@link dev.based4j.onnx.OnnxSettings}.
 */
package dev.based4j.onnx;
