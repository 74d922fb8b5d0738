/**
 * The ONNX Runtime backend: {@link dev.based4j.onnx.OnnxBackendProvider} (backend {@code onnx}, CPU execution
 * provider) and {@link dev.based4j.onnx.OnnxCudaBackendProvider} (backend {@code onnx-cuda}, CUDA execution
 * provider with the GPU build of ONNX Runtime). Every kernel is an ONNX graph built in memory and compiled once
 * per kernel, spec and precision.
 */
package dev.based4j.onnx;
