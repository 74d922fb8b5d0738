/**
 * The CUDA driver API and NVRTC bound with {@code java.lang.foreign}: {@link dev.based4j.cuda.driver.CudaDriver}
 * (every call checked, errors as {@link dev.based4j.cuda.driver.CudaException} naming the call and the
 * {@code CUresult}), {@link dev.based4j.cuda.driver.Nvrtc} and the launch-argument builder
 * {@link dev.based4j.cuda.driver.KernelArgs}.
 */
package dev.based4j.cuda.driver;
