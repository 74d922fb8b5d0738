package dev.based4j.cuda.kernels;

import dev.based4j.cuda.CudaContext;
import dev.based4j.cuda.Scratch;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Model plumbing ({@code plumbing.cu}): the matrix multiply with a weight (64×64 register-tiled FP32/FP64 FMA
 * tiles; no tensor cores, as TF32 would miss the float32 tolerance), RMSNorm, SiLU, GELU, add, multiply,
 * embedding gather, rotary and the head/column reshuffles.
 */
public final class PlumbingKernels extends KernelFamily {
    private static final int BLOCK = 256;
    private static final int TILE = 64;
    private static final int MAX_ROW_TILES = 65535;

    /** @param context the device */
    public PlumbingKernels(CudaContext context, Scratch scratch) {
        super(context, scratch, "plumbing");
    }

    /** {@code out = x·weightᵀ (+ bias)}. */
    public void linear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        DType dtype = x.dtype();
        int k = weight.shape().dim(1);
        int n = weight.shape().dim(0);
        long m = x.shape().elementCount() / k;
        long smem = 2L * 16 * (TILE + 4) * dtype.byteSize();
        long biasPtr = bias == null ? 0 : ptr(bias);
        // the grid's y extent is limited: very tall inputs run in slabs of rows
        long slab = (long) MAX_ROW_TILES * TILE;
        for (long m0 = 0; m0 < m; m0 += slab) {
            int rows = (int) Math.min(slab, m - m0);
            long xOff = ptr(x) + m0 * k * dtype.byteSize();
            long oOff = ptr(out) + m0 * n * dtype.byteSize();
            context.launch(kernel("linear", dtype), ceilDiv(n, TILE), ceilDiv(rows, TILE), 1, BLOCK, smem,
                    a -> a.ptr(xOff).ptr(ptr(weight)).ptr(biasPtr).ptr(oOff).i32(rows).i32(n).i32(k));
        }
    }

    /** {@code out = x / sqrt(mean(x²) + eps) · weight} over the last dimension. */
    public void rmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        DType dtype = x.dtype();
        int d = x.shape().dim(-1);
        int rows = Math.toIntExact(x.shape().elementCount() / d);
        context.launch(kernel("rms_norm", dtype), rows, 1, 1, BLOCK, 32L * dtype.byteSize(), a -> {
            a.ptr(ptr(x)).ptr(ptr(weight)).ptr(ptr(out)).i32(d);
            scalar(a, dtype, eps);
        });
    }

    /** SiLU. */
    public void silu(Tensor x, Tensor out) {
        unary("silu", x, out);
    }

    /** Exact GELU. */
    public void gelu(Tensor x, Tensor out) {
        unary("gelu", x, out);
    }

    /** {@code a + b}. */
    public void add(Tensor a, Tensor b, Tensor out) {
        binary("add", a, b, out);
    }

    /** {@code a ⊙ b}. */
    public void multiply(Tensor a, Tensor b, Tensor out) {
        binary("mul", a, b, out);
    }

    private void unary(String name, Tensor x, Tensor out) {
        long n = x.shape().elementCount();
        context.launch(kernel(name, x.dtype()), gridFor(n, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(x)).ptr(ptr(out)).i64(n));
    }

    private void binary(String name, Tensor x, Tensor y, Tensor out) {
        long n = x.shape().elementCount();
        context.launch(kernel(name, x.dtype()), gridFor(n, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(x)).ptr(ptr(y)).ptr(ptr(out)).i64(n));
    }

    /** Rows {@code ids} of {@code table}; the ids are copied to the device first (they come from the host). */
    public void embedding(Tensor table, int[] ids, Tensor out) {
        DType dtype = table.dtype();
        int d = table.shape().dim(1);
        long bytes = 4L * ids.length;
        long dev = scratch.get("embedding_ids", bytes);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(bytes, 4);
            MemorySegment.copy(ids, 0, host, ValueLayout.JAVA_INT, 0, ids.length);
            // from pageable memory the driver stages the copy before returning, so the arena may close after
            context.driver().memcpyHtoDAsync(dev, host, bytes, context.stream());
        }
        int block = Math.min(BLOCK, Math.max(32, (d + 31) / 32 * 32));
        context.launch(kernel("embedding", dtype), ids.length, 1, 1, block, 0,
                a -> a.ptr(ptr(table)).ptr(dev).ptr(ptr(out)).i32(d));
    }

    /** GPT-NeoX rotary on {@code x [B,H,L,d]}. */
    public void rotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        Shape s = x.shape();
        int rows = s.dim(0) * s.dim(1);
        int seq = s.dim(2);
        int d = s.dim(3);
        long work = (long) rows * seq * (rotaryDim / 2 + d - rotaryDim);
        context.launch(kernel("rotary", x.dtype()), gridFor(work, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(x)).ptr(ptr(out)).i32(rows).i32(seq).i32(d).i64(startPosition).i32(rotaryDim)
                        .f64(base));
    }

    /** {@code x [B,L,H·d] → out [B,H,L,d]}. */
    public void splitHeads(Tensor x, Tensor out) {
        Shape o = out.shape();
        long n = o.elementCount();
        context.launch(kernel("split_heads", x.dtype()), gridFor(n, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(x)).ptr(ptr(out)).i32(o.dim(0)).i32(o.dim(2)).i32(o.dim(1)).i32(o.dim(3)));
    }

    /** {@code x [B,H,L,d] → out [B,L,H·d]}. */
    public void mergeHeads(Tensor x, Tensor out) {
        Shape s = x.shape();
        long n = s.elementCount();
        context.launch(kernel("merge_heads", x.dtype()), gridFor(n, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(x)).ptr(ptr(out)).i32(s.dim(0)).i32(s.dim(1)).i32(s.dim(2)).i32(s.dim(3)));
    }

    /** Columns {@code [from, from + width)} of the last dimension. */
    public void slice(Tensor x, int from, Tensor out) {
        int n = x.shape().dim(-1);
        int width = out.shape().dim(-1);
        long rows = x.shape().elementCount() / n;
        context.launch(kernel("slice", x.dtype()), gridFor(rows * width, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(x)).ptr(ptr(out)).i64(rows).i32(n).i32(from).i32(width));
    }
}
