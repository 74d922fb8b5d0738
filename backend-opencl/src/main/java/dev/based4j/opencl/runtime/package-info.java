/**
 * The thin layer over LWJGL's OpenCL binding that the kernel families use: loading ({@link
 * dev.based4j.opencl.runtime.ClLibrary}), error checks, buffers, and a context with its program cache and
 * launches ({@link dev.based4j.opencl.runtime.ClContext}). Not exported.
 */
package dev.based4j.opencl.runtime;
