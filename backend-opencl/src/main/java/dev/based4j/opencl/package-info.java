/**
 * The OpenCL backend of based4j: {@link dev.based4j.opencl.OpenClBackendProvider} (found by
 * {@link java.util.ServiceLoader}, name {@code opencl}), its settings ({@link dev.based4j.opencl.OpenClSettings}:
 * the device) and the {@link dev.based4j.opencl.OpenClDevice} a backend runs on. Select it with
 * {@code Backends.select("opencl")}; {@code backend.unwrap(OpenClDevice.class)} gives its device and
 * {@link dev.based4j.opencl.OpenClBackendProvider#listDevices()} lists every device.
 */
package dev.based4j.opencl;
