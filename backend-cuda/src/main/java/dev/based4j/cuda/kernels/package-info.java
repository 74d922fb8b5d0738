/**
 * The kernel families of the CUDA backend, one class per family with the same names in every backend: feature
 * maps, linear attention, sliding window, the fused layer, the causal convolution and model plumbing. Each
 * implements its SPI family over {@link dev.based4j.cuda.device.CudaBuffer} and enqueues launches of its {@code .cu}
 * module on the context's stream, under the context's lock.
 */
package dev.based4j.cuda.kernels;
