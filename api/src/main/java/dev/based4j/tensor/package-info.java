/**
 * Tensors: {@link dev.based4j.tensor.Shape}, {@link dev.based4j.tensor.DType}, backend-owned
 * {@link dev.based4j.tensor.Tensor} handles and host-side {@link dev.based4j.tensor.HostTensor}s on
 * {@link java.lang.foreign.MemorySegment}s.
 *
 * <p>Attention inputs are laid out {@code [batch, heads, seq, dim]}, row-major and contiguous; layers take and
 * return {@code [batch, seq, d_model]}.
 */
package dev.based4j.tensor;
