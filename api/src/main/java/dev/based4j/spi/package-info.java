/**
 * What a backend implements: {@link dev.based4j.spi.BackendProvider} (found by {@link java.util.ServiceLoader},
 * cheap to construct; name, priority, {@code probe()}, lazy {@code create()}) and
 * {@link dev.based4j.spi.Backend} (allocation, copies and the kernel surface).
 * {@link dev.based4j.spi.AbstractBackend} validates every argument at the boundary so an implementation writes
 * only the arithmetic; {@link dev.based4j.spi.AbstractTensor} gives tensors their closed-state checks.
 */
package dev.based4j.spi;
