package dev.based4j.spi;

import dev.based4j.tensor.DType;

/**
 * Kernel family: the model plumbing that lets a whole BASED model run on one backend without round trips to the
 * host. Supplied to {@link Engine.Builder#plumbing}. Every call is validated; tensors are row-major of type
 * {@code dtype}. Where the user API allows it ({@code rmsNorm}, {@code silu}, {@code gelu}, {@code add},
 * {@code multiply}), {@code out} may be one of the inputs: the operation then runs in place.
 *
 * @param <B> the backend's type of memory handle
 */
public interface PlumbingFamily<B> {
    /** {@code out = x·weightᵀ (+ bias)}. */
    void linear(LinearCall<B> call);

    /** {@code out = x / sqrt(mean(x²) + eps) · weight} over the last dimension. */
    void rmsNorm(NormCall<B> call);

    /** {@code out = x·sigmoid(x)}. */
    void silu(UnaryCall<B> call);

    /** {@code out = gelu(x)}, the exact (erf) form. */
    void gelu(UnaryCall<B> call);

    /** {@code out = a + b}. */
    void add(BinaryCall<B> call);

    /** {@code out = a ⊙ b}. */
    void multiply(BinaryCall<B> call);

    /** {@code out[i] = table[ids[i]]}. */
    void embedding(EmbeddingCall<B> call);

    /** Rotary embedding, GPT-NeoX "rotate halves". */
    void rotary(RotaryCall<B> call);

    /** {@code x [batch, seq, heads·headDim] → out [batch, heads, seq, headDim]}. */
    void splitHeads(HeadsCall<B> call);

    /** {@code x [batch, heads, seq, headDim] → out [batch, seq, heads·headDim]}. */
    void mergeHeads(HeadsCall<B> call);

    /** Columns {@code [from, from + width)} of each row of {@code x}. */
    void slice(SliceCall<B> call);

    /**
     * {@code x [rows, inFeatures]}, {@code weight [outFeatures, inFeatures]} stored as {@code weightType},
     * {@code bias [outFeatures]} or null, {@code out [rows, outFeatures]} (not {@code x}); {@code x}, {@code bias},
     * {@code out} and {@code scales} are of {@code dtype}. {@code weightType} is {@code dtype} unless the engine
     * declared more weight types ({@link Engine.Builder#plumbing(PlumbingFamily, java.util.Set)}): for
     * {@link DType#BF16} and {@link DType#F16} each weight element is widened to {@code dtype}; for {@link DType#I8}
     * it is multiplied by its scale, {@code scales [outFeatures]} ({@code groupSize} 0) or {@code scales
     * [outFeatures, inFeatures / groupSize]}. Products accumulate in {@code dtype}.
     */
    record LinearCall<B>(DType dtype, long rows, int inFeatures, int outFeatures, B x, B weight, DType weightType,
            B scales, int groupSize, B bias, B out) {}

    /** {@code x, out [rows, dim]}, {@code weight [dim]}, {@code eps} finite and positive. */
    record NormCall<B>(DType dtype, long rows, int dim, double eps, B x, B weight, B out) {}

    /** {@code x, out} of {@code elements} elements. */
    record UnaryCall<B>(DType dtype, long elements, B x, B out) {}

    /** {@code a, b, out} of {@code elements} elements. */
    record BinaryCall<B>(DType dtype, long elements, B a, B b, B out) {}

    /**
     * {@code table [vocab, dim]} stored as {@code tableType} (scaled like a {@link LinearCall}'s weight: per row, or
     * per group of {@code groupSize} columns, for {@link DType#I8}), {@code out [ids.length, dim]} of {@code dtype},
     * every id in {@code [0, vocab)}.
     */
    record EmbeddingCall<B>(DType dtype, int vocab, int dim, int[] ids, B table, DType tableType, B scales,
            int groupSize, B out) {}

    /**
     * {@code x, out [rows, seq, dim]} ({@code rows = batch·heads}); token {@code t} is at absolute position
     * {@code startPosition + t} (at least 0); the first {@code rotaryDim} (even, at most {@code dim}) dimensions rotate
     * with {@code θ_i = base^(-2i/rotaryDim)} ({@code base} finite, above 1), the rest pass through.
     */
    record RotaryCall<B>(DType dtype, long rows, int seq, int dim, long startPosition, int rotaryDim, double base, B x,
            B out) {}

    /** The two layouts of {@link #splitHeads} and {@link #mergeHeads}; {@code out} is not {@code x}. */
    record HeadsCall<B>(DType dtype, int batch, int seq, int heads, int headDim, B x, B out) {}

    /** {@code x [rows, columns]}, {@code out [rows, width]}, {@code 0 <= from}, {@code from + width <= columns}. */
    record SliceCall<B>(DType dtype, long rows, int columns, int from, int width, B x, B out) {}
}
