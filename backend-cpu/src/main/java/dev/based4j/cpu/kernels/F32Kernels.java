package dev.based4j.cpu.kernels;

import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The float32 inner loops of the CPU backend: the part of every F32 kernel that a SIMD implementation replaces.
 * The kernel families ({@link LinearAttentionKernels}, {@link SlidingWindowKernels}, ...) do the bookkeeping
 * (layouts, rings, states, threads) and spend their time in these methods, so that a Vector API version only has
 * to implement this interface.
 *
 * <p>Matrices are row-major in {@code float[]} with an offset and a leading dimension (the distance between
 * rows). Sums may be evaluated in any order; results differ from a sequential sum only by rounding.
 *
 * <p>Chosen once at start-up by {@link #select()}: the Lucene pattern, where no always-loaded class mentions
 * vector types and a setting forces the plain loops.
 */
public interface F32Kernels {
    /** @return a short name for diagnostics ({@code plain}, ...) */
    String name();

    /** @return {@code Σ_i a[aOffset+i]·b[bOffset+i]} over {@code n} values */
    float dot(float[] a, int aOffset, float[] b, int bOffset, int n);

    /**
     * {@code Σ_i a[aOffset+i]·b[bIndex+i]} with {@code b} in tensor memory (native byte order): how a weight is
     * read when only one or two rows multiply it (decode), streamed once without a copy.
     */
    float dot(float[] a, int aOffset, MemorySegment b, long bIndex, int n);

    /**
     * {@code out[outOffset+r] = Σ_i x[xOffset+i]·w[wIndex + r·ldw + i]} for {@code rows} rows of a weight in tensor
     * memory: {@code x·Wᵀ} for one row of {@code x} (decode), every weight element streamed once; each element as
     * {@link #dotTile} computes it.
     */
    void dotRows(float[] x, int xOffset, MemorySegment w, long wIndex, long ldw, int rows, int n, float[] out,
            int outOffset);

    /**
     * {@code out[outOffset + r·ldo + c] = Σ_i x[xOffset + r·ldx + i]·w[wIndex + c·ldw + i]} for {@code r < xRows},
     * {@code c < wRows}: {@code x·Wᵀ} for a tile of rows of {@code x} against rows of a weight in tensor memory.
     * Every element is computed the same way whatever the tile's size and the element's place in it (the same
     * partial sums, summed in the same order), and the same way as {@link #dotRows}: a row of {@code x·Wᵀ} never
     * depends on how many rows were computed with it.
     */
    void dotTile(float[] x, int xOffset, int ldx, int xRows, MemorySegment w, long wIndex, long ldw, int wRows, int n,
            float[] out, int outOffset, int ldo);

    /**
     * {@code out[outOffset+r] = Σ_i x[xOffset+i]·w(row0+r, i)} for {@code rows} rows of {@code n} inputs of a weight
     * stored as {@code type} ({@link DType#BF16}, {@link DType#F16} or {@link DType#I8}) in tensor memory, row
     * {@code j} from element {@code j·n}: each element is widened to float32 as it is read and the products
     * accumulate in float32; an int8 element counts {@code q·scale}, with {@code scales[j]} for row {@code j}
     * ({@code groupSize} 0) or {@code scales[j·(n / groupSize) + i / groupSize]} (the sum of each group multiplied by
     * its scale once). The decode GEMV of a reduced weight: every byte of it read once, where it lies.
     *
     * @param scales float32 scales for int8 (ignored for bf16 and f16)
     * @param groupSize inputs per scale, a divisor of {@code n}, or 0 for one scale per row
     */
    void dotReducedRows(DType type, float[] x, int xOffset, MemorySegment w, long row0, int rows, int n,
            float[] scales, int groupSize, float[] out, int outOffset);

    /**
     * {@code dst[dstOffset + r·n + i] = w(row0+r, i)} as float32 for {@code rows} rows of a weight stored as
     * {@code type}, int8 multiplied by its scale (indexed as {@link #dotReducedRows}): a panel of a reduced weight
     * widened once and then reused by every row of a matrix product.
     */
    void widenRows(DType type, MemorySegment w, long row0, int rows, int n, float[] scales, int groupSize,
            float[] dst, int dstOffset);

    /**
     * {@code y[yOffset+i] += Σ_r p[pOffset+r]·v[vIndex + r·n + i]} over {@code rows} consecutive rows of {@code n}
     * values in tensor memory: a weighted sum of value rows read where they lie (attention decode).
     */
    void accumulateRows(float[] p, int pOffset, MemorySegment v, long vIndex, int rows, int n, float[] y,
            int yOffset);

    /** {@code y[yOffset+i] += alpha·x[xOffset+i]} over {@code n} values. */
    void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n);

    /** {@code y[yOffset+i] = alpha·x[xOffset+i]} over {@code n} values, each product rounded once. */
    void scale(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n);

    /** {@code y[yOffset+i] = a[aOffset+i]·b[bOffset+i]} over {@code n} values, each product rounded once. */
    void multiply(float[] a, int aOffset, float[] b, int bOffset, float[] y, int yOffset, int n);

    /** {@code y[yOffset+i] += a[aOffset+i]·b[bOffset+i]} over {@code n} values. */
    void multiplyAdd(float[] a, int aOffset, float[] b, int bOffset, float[] y, int yOffset, int n);

    /**
     * {@code c = a·b}, or {@code c += a·b} when {@code accumulate}: {@code a} is {@code rows×depth},
     * {@code b} is {@code depth×cols}, {@code c} is {@code rows×cols}.
     */
    void matmul(float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c, int cOffset, int ldc,
            int rows, int depth, int cols, boolean accumulate);

    /**
     * {@code c = a·bᵀ}, or {@code c += a·bᵀ} when {@code accumulate}: {@code a} is {@code rows×depth},
     * {@code b} is {@code cols×depth} (each row of {@code b} is one output column), {@code c} is
     * {@code rows×cols}. This is the shape of {@code x·Wᵀ} with a weight stored {@code [out, in]} and of query-key
     * scores.
     */
    void matmulTransposed(float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c, int cOffset,
            int ldc, int rows, int depth, int cols, boolean accumulate);

    /**
     * The recurrent linear-attention step over one head's state, fused so each state row is touched once:
     * {@code s[r,:] += u[r]·w} and then {@code out[r] = x·s[r,:]} for every row {@code r} of the
     * {@code rows×cols} matrix {@code s} (leading dimension {@code cols}).
     */
    void updateThenProject(float[] s, int sOffset, int rows, int cols, float[] u, int uOffset, float[] w, int wOffset,
            float[] x, int xOffset, float[] out, int outOffset);

    /**
     * {@link #updateThenProject(float[], int, int, int, float[], int, float[], int, float[], int, float[], int)}
     * on a state that stays in tensor memory ({@code s} from element {@code sIndex}, native byte order, row
     * {@code r} at element {@code sIndex + r·stride}), so a decode step reads and writes each state element once
     * instead of copying the state in and out; elements between {@code cols} and {@code stride} are not touched.
     */
    void updateThenProject(MemorySegment s, long sIndex, int rows, int cols, int stride, float[] u, int uOffset,
            float[] w, int wOffset, float[] x, int xOffset, float[] out, int outOffset);

    /** {@code x[i] = x[i] / (1 + exp(-x[i]))} (SiLU) in place over {@code n} values. */
    void silu(float[] x, int offset, int n);

    /** @return the largest of {@code n >= 1} values */
    float max(float[] x, int offset, int n);

    /** Replaces {@code x[i]} by {@code exp(x[i] - shift)} over {@code n} values and returns their sum. */
    float expShifted(float[] x, int offset, int n, float shift);

    /**
     * The Taylor feature map of one vector: {@code out = [1, x·linearScale, (x_i·quadraticScale)·x_j]} with the
     * full row-major outer product, {@code 1 + f + f²} values.
     */
    void taylor(float[] x, int xOffset, int f, float linearScale, float quadraticScale, float[] out, int outOffset);

    /**
     * The implementation this JVM uses: {@link VectorF32Kernels} when {@code jdk.incubator.vector} is in the boot
     * layer, the platform's vectors hold at least four floats and {@code noVector} is false (the backend's setting
     * {@code based4j.cpu.noVector}); else {@link PlainF32Kernels}. The vector class is loaded by name, so that this
     * interface and every class loaded without it never mention vector types.
     */
    static F32Kernels select(boolean noVector) {
        if (noVector || ModuleLayer.boot().findModule(VECTOR_MODULE).isEmpty()) {
            return new PlainF32Kernels();
        }
        try {
            return (F32Kernels) Class.forName(F32Kernels.class.getPackageName() + ".VectorF32Kernels")
                    .getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            return new PlainF32Kernels();
        }
    }

    /** The module of the Vector API. */
    String VECTOR_MODULE = "jdk.incubator.vector";
}
