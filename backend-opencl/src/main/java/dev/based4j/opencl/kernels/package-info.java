/**
 * One class per kernel family, with the same names as in every based4j backend: each implements its SPI family
 * ({@link dev.based4j.spi.LinearAttentionFamily} and the others) over {@link dev.based4j.opencl.runtime.ClBuffer}s and
 * enqueues the OpenCL C kernels of its {@code .cl} resource (in {@code src/main/resources/dev/based4j/opencl/kernels/})
 * on a {@link dev.based4j.opencl.runtime.ClContext}. The calls arrive validated by based4j, with their dimensions
 * derived.
 */
package dev.based4j.opencl.kernels;
