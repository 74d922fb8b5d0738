/**
 * One CUDA device as the backend uses it: {@link dev.based4j.cuda.device.CudaContext} (primary context, stream,
 * kernel modules, the lock every call runs under), {@link dev.based4j.cuda.device.CudaBuffer} (a tensor's device
 * memory), {@link dev.based4j.cuda.device.Scratch} (intermediate buffers) and
 * {@link dev.based4j.cuda.device.KernelImages} (packaged PTX or NVRTC). Not exported.
 */
package dev.based4j.cuda.device;
