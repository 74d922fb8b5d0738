package dev.based4j;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;

/**
 * A compute backend: memory, copies and the kernel surface of BASED. Obtain one from {@link Backends}; close it when
 * done (closing frees what it still owns).
 *
 * <p>Every kernel writes into an output tensor the caller allocated ({@code out}); each has a convenience overload
 * that allocates and returns it. Attention layouts: {@code q, k: [batch, heads, seq, f]},
 * {@code v, out: [batch, heads, seq, dv]}, row-major. Kernels that take a state read it, update it in place and
 * advance its position; prefill of {@code n} tokens followed by decode of {@code m} equals prefill of {@code n + m}
 * to the tolerance of the data type.
 *
 * <p>Errors: {@link IllegalArgumentException} naming the parameter, the value and what was expected (null, shape,
 * dtype, tensor of another backend, value out of range); {@link IllegalStateException} for a closed tensor or
 * backend; {@link UnsupportedOperationException} for what {@link #capabilities()} leaves out. A kernel that throws
 * leaves its inputs and the state unchanged.
 *
 * <p>Thread safety: a backend may be used from many threads at once as long as no two threads write the same tensor
 * or state at the same time, which is enforced: a kernel that would write or read a tensor (an output or a state)
 * another thread's kernel is writing fails with {@link IllegalStateException} naming the parameter and the other
 * thread, and computes nothing.
 *
 * <p>Asynchrony: a device backend may return from a kernel before the device has finished it; downloads wait for
 * it, and {@link #synchronize()} waits for everything enqueued (use it before reading a clock).
 *
 * <p>Native memory: {@link #allocations()} counts the tensors still open; a tensor or state collected without
 * {@code close()} is freed by a cleaner and reported once.
 *
 * <p>Backends are made by based4j from what a plugin supplies ({@link dev.based4j.spi.Engine}); this interface is
 * not meant to be implemented elsewhere.
 */
public interface Backend extends AutoCloseable {
    /** @return the provider's name */
    String name();

    /** @return the device it runs on, in words */
    String device();

    /** @return what it computes */
    Capabilities capabilities();

    /**
     * @return live tensors and bytes of native memory this backend holds now, and how many were allocated and
     *     leaked (collected without {@code close()}) since it was created
     */
    Allocations allocations();

    /**
     * Waits until every kernel and copy issued so far on this backend has finished on its device. A no-op for
     * backends that compute synchronously. Timings must call it before reading the clock.
     *
     * @throws IllegalStateException when the backend is closed
     */
    void synchronize();

    /**
     * Backend-specific details the backend's module documents (for example the CPU backend's thread count), by
     * type.
     *
     * @return the detail of type {@code type}, or empty when this backend has none
     */
    <T> java.util.Optional<T> unwrap(Class<T> type);

    // ---------------------------------------------------------------- memory

    /** Allocates a zero-filled tensor. */
    Tensor allocate(Shape shape, DType dtype);

    /** Copies a host tensor into a new backend tensor of the same shape and type. */
    Tensor upload(HostTensor host);

    /** Copies {@code src} into {@code dst}, which must have its shape and type. */
    void download(Tensor src, HostTensor dst);

    /** Copies {@code src} into a new host tensor. */
    default HostTensor download(Tensor src) {
        if (src == null) {
            throw new IllegalArgumentException("src: expected a tensor, got null");
        }
        HostTensor dst = HostTensor.allocate(src.shape(), src.dtype());
        download(src, dst);
        return dst;
    }

    // ---------------------------------------------------------------- feature maps

    /** φ applied to the last dimension: {@code x [..., seq, d] → out [..., seq, φ.outputDim]}. */
    void featureMap(FeatureMap map, Tensor x, Tensor out);

    /** Allocating form of {@link #featureMap(FeatureMap, Tensor, Tensor)}. */
    default Tensor featureMap(FeatureMap map, Tensor x) {
        Shapes.require("x", x);
        Shapes.require("map", map);
        return Shapes.allocating(this, x.shape().withLast(map.outputDim()), x.dtype(), out -> featureMap(map, x, out));
    }

    // ---------------------------------------------------------------- linear attention

    /** Causal linear attention over {@code seq} tokens continuing from {@code state}. */
    void linearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out);

    /** One token ({@code seq = 1}): update the state, then read out. */
    void linearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out);

    /** Allocating form of linear-attention prefill. */
    default Tensor linearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state) {
        Shapes.require("v", v);
        return Shapes.allocating(this, v.shape(), v.dtype(), out -> linearAttentionPrefill(spec, q, k, v, state, out));
    }

    /** Allocating form of linear-attention decode. */
    default Tensor linearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state) {
        Shapes.require("v", v);
        return Shapes.allocating(this, v.shape(), v.dtype(), out -> linearAttentionDecode(spec, q, k, v, state, out));
    }

    // ---------------------------------------------------------------- sliding window

    /** Causal softmax attention over the window, continuing from the ring buffer in {@code state}. */
    void slidingWindowPrefill(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out);

    /** One token ({@code seq = 1}). */
    void slidingWindowDecode(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out);

    /** Allocating form of sliding-window prefill. */
    default Tensor slidingWindowPrefill(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state) {
        Shapes.require("v", v);
        return Shapes.allocating(this, v.shape(), v.dtype(), out -> slidingWindowPrefill(spec, q, k, v, state, out));
    }

    /** Allocating form of sliding-window decode. */
    default Tensor slidingWindowDecode(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state) {
        Shapes.require("v", v);
        return Shapes.allocating(this, v.shape(), v.dtype(), out -> slidingWindowDecode(spec, q, k, v, state, out));
    }

    // ---------------------------------------------------------------- fused linear + window

    /** The fused layer over {@code seq} tokens continuing from {@code state}. */
    void basedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out);

    /** One token ({@code seq = 1}). */
    void basedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out);

    /** Allocating form of fused prefill. */
    default Tensor basedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state) {
        Shapes.require("v", v);
        return Shapes.allocating(this, v.shape(), v.dtype(), out -> basedAttentionPrefill(spec, q, k, v, state, out));
    }

    /** Allocating form of fused decode. */
    default Tensor basedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state) {
        Shapes.require("v", v);
        return Shapes.allocating(this, v.shape(), v.dtype(), out -> basedAttentionDecode(spec, q, k, v, state, out));
    }

    // ---------------------------------------------------------------- BaseConv

    /**
     * Causal depthwise convolution {@code out[b,t,c] = Σ_j weight[c,j]·u[b,t-K+1+j,c]} where earlier inputs come
     * from {@code state} ({@code x [batch, seq, channels]}, {@code weight [channels, K]}, the last tap multiplies
     * the current token). Works for prefill and decode ({@code seq = 1}) alike.
     */
    void causalConv(Tensor x, Tensor weight, ConvState state, Tensor out);

    /** Allocating form of {@link #causalConv(Tensor, Tensor, ConvState, Tensor)}. */
    default Tensor causalConv(Tensor x, Tensor weight, ConvState state) {
        Shapes.require("x", x);
        return Shapes.allocating(this, x.shape(), x.dtype(), out -> causalConv(x, weight, state, out));
    }

    // ---------------------------------------------------------------- model plumbing

    /**
     * {@code out = x·weightᵀ (+ bias)}: {@code x [..., in]}, {@code weight [out, in]} stored in a type
     * {@link Capabilities#weightTypes()} lists (bf16, f16, int8 with scales, or the type of {@code x}; see
     * {@link Weight}), {@code bias [out]} or null; products accumulate in the type of {@code x}.
     */
    void linear(Tensor x, Weight weight, Tensor bias, Tensor out);

    /** {@link #linear(Tensor, Weight, Tensor, Tensor)} with a weight of {@code x}'s type. */
    default void linear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        linear(x, weight == null ? null : Weight.of(weight), bias, out);
    }

    /** Allocating form of {@link #linear(Tensor, Weight, Tensor, Tensor)}. */
    default Tensor linear(Tensor x, Weight weight, Tensor bias) {
        Shapes.require("x", x);
        Shapes.require("weight", weight);
        return Shapes.allocating(this, x.shape().withLast(weight.shape().dim(0)), x.dtype(),
                out -> linear(x, weight, bias, out));
    }

    /** Allocating form of {@link #linear(Tensor, Tensor, Tensor, Tensor)}. */
    default Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        Shapes.require("weight", weight);
        return linear(x, Weight.of(weight), bias);
    }

    /** {@code out = x / sqrt(mean(x²) + eps) · weight} over the last dimension. */
    void rmsNorm(Tensor x, Tensor weight, double eps, Tensor out);

    /** Allocating form of {@link #rmsNorm(Tensor, Tensor, double, Tensor)}. */
    default Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        Shapes.require("x", x);
        return Shapes.allocating(this, x.shape(), x.dtype(), out -> rmsNorm(x, weight, eps, out));
    }

    /** {@code out = x·sigmoid(x)} element-wise. */
    void silu(Tensor x, Tensor out);

    /** Allocating form of {@link #silu(Tensor, Tensor)}. */
    default Tensor silu(Tensor x) {
        Shapes.require("x", x);
        return Shapes.allocating(this, x.shape(), x.dtype(), out -> silu(x, out));
    }

    /** {@code out = gelu(x)} element-wise, the exact (erf) form. */
    void gelu(Tensor x, Tensor out);

    /** Allocating form of {@link #gelu(Tensor, Tensor)}. */
    default Tensor gelu(Tensor x) {
        Shapes.require("x", x);
        return Shapes.allocating(this, x.shape(), x.dtype(), out -> gelu(x, out));
    }

    /** {@code out = a + b}, same shapes. */
    void add(Tensor a, Tensor b, Tensor out);

    /** Allocating form of {@link #add(Tensor, Tensor, Tensor)}. */
    default Tensor add(Tensor a, Tensor b) {
        Shapes.require("a", a);
        return Shapes.allocating(this, a.shape(), a.dtype(), out -> add(a, b, out));
    }

    /** {@code out = a ⊙ b}, same shapes. */
    void multiply(Tensor a, Tensor b, Tensor out);

    /** Allocating form of {@link #multiply(Tensor, Tensor, Tensor)}. */
    default Tensor multiply(Tensor a, Tensor b) {
        Shapes.require("a", a);
        return Shapes.allocating(this, a.shape(), a.dtype(), out -> multiply(a, b, out));
    }

    /**
     * Gathers rows of {@code table [vocab, d]} (stored in a type {@link Capabilities#weightTypes()} lists; rows are
     * widened, or scaled for int8, to the type of {@code out}): {@code out [batch, seq, d]} with {@code ids} of length
     * {@code batch·seq}, row-major, each in {@code [0, vocab)}.
     */
    void embedding(Weight table, int[] ids, Tensor out);

    /** {@link #embedding(Weight, int[], Tensor)} with a table of {@code out}'s type. */
    default void embedding(Tensor table, int[] ids, Tensor out) {
        embedding(table == null ? null : Weight.of(table), ids, out);
    }

    /**
     * Allocating form of {@link #embedding(Weight, int[], Tensor)}: {@code out} is {@code [batch, seq, d]} in
     * {@code dtype}.
     */
    default Tensor embedding(Weight table, int[] ids, int batch, int seq, DType dtype) {
        Shapes.require("table", table);
        return Shapes.allocating(this, Shape.of(batch, seq, table.shape().dim(1)), dtype,
                out -> embedding(table, ids, out));
    }

    /** Allocating form of {@link #embedding(Tensor, int[], Tensor)}, in the table's type. */
    default Tensor embedding(Tensor table, int[] ids, int batch, int seq) {
        Shapes.require("table", table);
        return embedding(Weight.of(table), ids, batch, seq, table.dtype());
    }

    /**
     * Rotary embedding, GPT-NeoX "rotate halves", on {@code x [batch, heads, seq, d]}: token {@code t} is at
     * absolute position {@code startPosition + t}; the first {@code rotaryDim} (even) dimensions rotate with
     * {@code θ_i = base^(-2i/rotaryDim)}, the rest pass through.
     */
    void rotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out);

    /** Allocating form of {@link #rotary(Tensor, long, int, double, Tensor)}. */
    default Tensor rotary(Tensor x, long startPosition, int rotaryDim, double base) {
        Shapes.require("x", x);
        return Shapes.allocating(this, x.shape(), x.dtype(), out -> rotary(x, startPosition, rotaryDim, base, out));
    }

    /** {@code x [batch, seq, heads·d] → out [batch, heads, seq, d]} (head-major split). */
    void splitHeads(Tensor x, Tensor out);

    /** Allocating form: splits into {@code heads}. */
    default Tensor splitHeads(Tensor x, int heads) {
        Shapes.require("x", x);
        Shape s = x.shape();
        if (s.rank() != 3 || heads < 1 || s.dim(2) % heads != 0) {
            throw new IllegalArgumentException("x: expected shape [batch, seq, heads*d] with heads=" + heads
                    + " dividing the last dimension, got " + s);
        }
        return Shapes.allocating(this, Shape.of(s.dim(0), heads, s.dim(1), s.dim(2) / heads), x.dtype(),
                out -> splitHeads(x, out));
    }

    /** {@code x [batch, heads, seq, d] → out [batch, seq, heads·d]}. */
    void mergeHeads(Tensor x, Tensor out);

    /** Allocating form of {@link #mergeHeads(Tensor, Tensor)}. */
    default Tensor mergeHeads(Tensor x) {
        Shapes.require("x", x);
        Shape s = x.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("x: expected shape [batch, heads, seq, d], got " + s);
        }
        return Shapes.allocating(this, Shape.of(s.dim(0), s.dim(2), s.dim(1) * s.dim(3)), x.dtype(),
                out -> mergeHeads(x, out));
    }

    /** Columns {@code [from, from + out.lastDim)} of the last dimension of {@code x}. */
    void slice(Tensor x, int from, Tensor out);

    /** Allocating form: columns {@code [from, to)}. */
    default Tensor slice(Tensor x, int from, int to) {
        Shapes.require("x", x);
        if (to <= from) {
            throw new IllegalArgumentException("to: expected > from=" + from + ", got " + to);
        }
        return Shapes.allocating(this, x.shape().withLast(to - from), x.dtype(), out -> slice(x, from, out));
    }

    /**
     * A view of {@code x}'s memory with another shape of the same element count (row-major, so {@code [b, seq, d]}
     * can be read as {@code [b·seq, 1, d]}): nothing is copied. The view is usable while {@code x} is open; closing it
     * frees nothing; writing one writes the other.
     *
     * @throws IllegalArgumentException naming {@code shape} when its element count differs from {@code x}'s
     */
    Tensor view(Tensor x, Shape shape);

    /**
     * Copies whole rows along the first dimension: {@code dst[dstRow + i] = src[srcRow + i]} for {@code i <
     * rows}, where {@code src} and {@code dst} have the same type and the same dimensions after the first (for
     * example one sequence's {@code [1, seq, D]} into row {@code r} of a batch's {@code [batch, seq, D]}). They may be
     * the same tensor when the two ranges do not overlap.
     *
     * @throws UnsupportedOperationException when the backend supplies no device-side copy
     */
    void copyRows(Tensor src, int srcRow, Tensor dst, int dstRow, int rows);

    /** Frees every tensor this backend still owns and its device resources. Idempotent. */
    @Override
    void close();
}
