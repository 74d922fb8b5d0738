/**
 * The CUDA backend: {@link dev.based4j.cuda.CudaBackendProvider} (probe and creation),
 * {@link dev.based4j.cuda.CudaBackend} (the kernel surface on one GPU), {@link dev.based4j.cuda.CudaTensor}
 * (device memory), {@link dev.based4j.cuda.CudaContext} (primary context, stream, modules) and
 * {@link dev.based4j.cuda.KernelImages} (packaged PTX or NVRTC).
 */
package dev.based4j.cuda;
