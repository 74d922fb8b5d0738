/**
 * The kernels of the CPU backend, one class per kernel family with the same names as in every other backend.
 * Each family computes in float64 by calling {@link dev.based4j.reference.Reference}, and in float32 with loops
 * of its own built on {@link dev.based4j.cpu.kernels.F32Kernels}, the inner loops a SIMD implementation
 * replaces. Work is split over batch×heads (rows for matrix products) on a {@link dev.based4j.cpu.kernels.CpuPool}.
 * Internal: not exported from the module.
 */
package dev.based4j.cpu.kernels;
