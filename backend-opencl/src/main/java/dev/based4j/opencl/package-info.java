/**
 * The OpenCL backend of based4j: {@link dev.based4j.opencl.OpenClBackendProvider} (found by
 * {@link java.util.ServiceLoader}, name {@code opencl}), {@link dev.based4j.opencl.OpenClBackend} and its
 * {@link dev.based4j.opencl.OpenClTensor}s. Select it with {@code Backends.select("opencl")}; choose the device
 * with {@link dev.based4j.Settings#OPENCL_DEVICE}; {@link dev.based4j.opencl.OpenClBackendProvider#listDevices()}
 * lists every device.
 */
package dev.based4j.opencl;
