/**
 * What a backend implements: {@link dev.based4j.spi.BackendProvider} (found by {@link java.util.ServiceLoader},
 * cheap to construct; name, priority, {@code probe()}, lazy {@code create()}) and
 * {@link dev.based4j.Backend} (allocation, copies and the kernel surface).
 * {@link dev.based4j.spi.AbstractBackend} validates every argument at the boundary so an implementation writes
 * only the arithmetic, counts native memory ({@link dev.based4j.Allocations}), enforces one writer per tensor
 * and restores a state when a kernel fails; {@link dev.based4j.spi.AbstractTensor} gives tensors their closed-state
 * checks and frees a tensor that was collected without {@code close()}.
 */
package dev.based4j.spi;
