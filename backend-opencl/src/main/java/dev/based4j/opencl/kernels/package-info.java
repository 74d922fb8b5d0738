/**
 * One class per kernel family, with the same names as in every based4j backend: each enqueues the OpenCL C
 * kernels of its {@code .cl} resource (in {@code src/main/resources/dev/based4j/opencl/kernels/}) on a
 * {@link dev.based4j.opencl.runtime.ClContext}. Arguments are already validated by
 * {@link dev.based4j.spi.AbstractBackend}.
 */
package dev.based4j.opencl.kernels;
