/**
 * The CUDA backend: {@link dev.based4j.cuda.CudaBackendProvider} (probe and creation),
 * {@link dev.based4j.cuda.CudaEngine} (the kernel families on one GPU, and {@link dev.based4j.cuda.CudaEngine.CudaInfo},
 * the device's details from {@code backend.unwrap(CudaInfo.class)}) and {@link dev.based4j.cuda.CudaSettings}.
 */
package dev.based4j.cuda;
