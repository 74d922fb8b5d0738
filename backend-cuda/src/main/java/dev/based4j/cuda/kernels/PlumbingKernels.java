package dev.based4j.cuda.kernels;

import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.cuda.device.Scratch;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * Model plumbing ({@code plumbing.cu}): the matrix multiply with a weight (64×64 register-tiled FP32/FP64 FMA
 * tiles; no tensor cores, as TF32 would miss the float32 tolerance), RMSNorm, SiLU, GELU, add, multiply,
 * embedding gather, rotary and the head/column reshuffles. {@code linear} and {@code embedding} also read weights
 * stored as bf16, f16 or int8 ({@link #WEIGHT_TYPES}; kernels {@code linear_bf16_f32}, {@code embedding_i8_f64},
 * ...), widening each element to the call's type as they load it.
 */
public final class PlumbingKernels extends KernelFamily implements PlumbingFamily<CudaBuffer> {
    /** The weight storage types {@code linear} and {@code embedding} take besides the compute types. */
    public static final Set<DType> WEIGHT_TYPES =
            Collections.unmodifiableSet(EnumSet.of(DType.BF16, DType.F16, DType.I8));

    private static final int BLOCK = 256;
    private static final int TILE = 64;
    private static final int MAX_ROW_TILES = 65535;

    /** @param context the device */
    public PlumbingKernels(CudaContext context, Scratch scratch) {
        super(context, scratch, "plumbing");
    }

    /** {@code out = x·weightᵀ (+ bias)}, the weight stored as the call's type, bf16, f16 or int8. */
    @Override
    public void linear(LinearCall<CudaBuffer> c) {
        DType dtype = c.dtype();
        int k = c.inFeatures();
        int n = c.outFeatures();
        long m = c.rows();
        long smem = 2L * 16 * (TILE + 4) * dtype.byteSize();
        long biasPtr = c.bias() == null ? 0 : ptr(c.bias());
        long weight = ptr(c.weight());
        boolean reduced = c.weightType() != dtype;
        long scales = c.scales() == null ? 0 : ptr(c.scales());
        int group = group(c.weightType(), c.groupSize(), k);
        CudaContext.Kernel kernel = kernel(reduced ? "linear_" + storage(c.weightType()) : "linear", dtype);
        // the grid's y extent is limited: very tall inputs run in slabs of rows
        long slab = (long) MAX_ROW_TILES * TILE;
        context.run(() -> {
            for (long m0 = 0; m0 < m; m0 += slab) {
                int rows = (int) Math.min(slab, m - m0);
                long xOff = ptr(c.x()) + m0 * k * dtype.byteSize();
                long oOff = ptr(c.out()) + m0 * n * dtype.byteSize();
                context.launch(kernel, ceilDiv(n, TILE), ceilDiv(rows, TILE), 1, BLOCK, smem, a -> {
                    a.ptr(xOff).ptr(weight);
                    if (reduced) {
                        a.ptr(scales).i32(group);
                    }
                    a.ptr(biasPtr).ptr(oOff).i32(rows).i32(n).i32(k);
                });
            }
        });
    }

    /** @return the kernel-name suffix of a weight storage type */
    private static String storage(DType weightType) {
        return switch (weightType) {
            case BF16 -> "bf16";
            case F16 -> "f16";
            case I8 -> "i8";
            // validated by based4j: a float weight is of the call's type
            case F32, F64 -> throw new IllegalStateException("weight: " + weightType.label()
                    + " weights reach only the kernels of their own type");
        };
    }

    /** Inputs per int8 scale as the kernels index them: one group of all {@code columns} per row. */
    private static int group(DType weightType, int groupSize, int columns) {
        return weightType != DType.I8 ? 0 : groupSize == 0 ? columns : groupSize;
    }

    /** {@code out = x / sqrt(mean(x²) + eps) · weight} over the last dimension. */
    @Override
    public void rmsNorm(NormCall<CudaBuffer> c) {
        DType dtype = c.dtype();
        int d = c.dim();
        int rows = int32("rows", c.rows());
        context.run(() -> context.launch(kernel("rms_norm", dtype), rows, 1, 1, BLOCK, 32L * dtype.byteSize(), a -> {
            a.ptr(ptr(c.x())).ptr(ptr(c.weight())).ptr(ptr(c.out())).i32(d);
            scalar(a, dtype, c.eps());
        }));
    }

    /** SiLU. */
    @Override
    public void silu(UnaryCall<CudaBuffer> c) {
        unary("silu", c);
    }

    /** Exact GELU. */
    @Override
    public void gelu(UnaryCall<CudaBuffer> c) {
        unary("gelu", c);
    }

    /** {@code a + b}. */
    @Override
    public void add(BinaryCall<CudaBuffer> c) {
        binary("add", c);
    }

    /** {@code a ⊙ b}. */
    @Override
    public void multiply(BinaryCall<CudaBuffer> c) {
        binary("mul", c);
    }

    private void unary(String name, UnaryCall<CudaBuffer> c) {
        long n = c.elements();
        context.run(() -> context.launch(kernel(name, c.dtype()), gridFor(n, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(c.x())).ptr(ptr(c.out())).i64(n)));
    }

    private void binary(String name, BinaryCall<CudaBuffer> c) {
        long n = c.elements();
        context.run(() -> context.launch(kernel(name, c.dtype()), gridFor(n, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(c.a())).ptr(ptr(c.b())).ptr(ptr(c.out())).i64(n)));
    }

    /**
     * Rows {@code ids} of {@code table} (stored as the call's type, bf16, f16 or int8), widened to the call's type;
     * the ids are copied to the device first (they come from the host).
     */
    @Override
    public void embedding(EmbeddingCall<CudaBuffer> c) {
        DType dtype = c.dtype();
        int d = c.dim();
        int[] ids = c.ids();
        long bytes = 4L * ids.length;
        int block = Math.min(BLOCK, Math.max(32, (d + 31) / 32 * 32));
        context.run(() -> {
            long dev = scratch.get("embedding_ids", bytes);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(bytes, 4);
                MemorySegment.copy(ids, 0, host, ValueLayout.JAVA_INT, 0, ids.length);
                // from pageable memory the driver stages the copy before returning, so the arena may close after
                context.driver().memcpyHtoDAsync(dev, host, bytes, context.stream());
            }
            if (c.tableType() == dtype) {
                context.launch(kernel("embedding", dtype), ids.length, 1, 1, block, 0,
                        a -> a.ptr(ptr(c.table())).ptr(dev).ptr(ptr(c.out())).i32(d));
            } else {
                long scales = c.scales() == null ? 0 : ptr(c.scales());
                int group = group(c.tableType(), c.groupSize(), d);
                context.launch(kernel("embedding_" + storage(c.tableType()), dtype), ids.length, 1, 1, block, 0,
                        a -> a.ptr(ptr(c.table())).ptr(scales).i32(group).ptr(dev).ptr(ptr(c.out())).i32(d));
            }
        });
    }

    /** GPT-NeoX rotary on {@code x [rows, seq, dim]}. */
    @Override
    public void rotary(RotaryCall<CudaBuffer> c) {
        int rows = int32("rows", c.rows());
        int seq = c.seq();
        int d = c.dim();
        int rotaryDim = c.rotaryDim();
        long work = (long) rows * seq * (rotaryDim / 2 + d - rotaryDim);
        context.run(() -> context.launch(kernel("rotary", c.dtype()), gridFor(work, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(c.x())).ptr(ptr(c.out())).i32(rows).i32(seq).i32(d).i64(c.startPosition())
                        .i32(rotaryDim).f64(c.base())));
    }

    /** {@code x [B,L,H·d] → out [B,H,L,d]}. */
    @Override
    public void splitHeads(HeadsCall<CudaBuffer> c) {
        long n = (long) c.batch() * c.seq() * c.heads() * c.headDim();
        context.run(() -> context.launch(kernel("split_heads", c.dtype()), gridFor(n, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(c.x())).ptr(ptr(c.out())).i32(c.batch()).i32(c.seq()).i32(c.heads())
                        .i32(c.headDim())));
    }

    /** {@code x [B,H,L,d] → out [B,L,H·d]}. */
    @Override
    public void mergeHeads(HeadsCall<CudaBuffer> c) {
        long n = (long) c.batch() * c.seq() * c.heads() * c.headDim();
        context.run(() -> context.launch(kernel("merge_heads", c.dtype()), gridFor(n, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(c.x())).ptr(ptr(c.out())).i32(c.batch()).i32(c.heads()).i32(c.seq())
                        .i32(c.headDim())));
    }

    /** Columns {@code [from, from + width)} of the last dimension. */
    @Override
    public void slice(SliceCall<CudaBuffer> c) {
        long rows = c.rows();
        int width = c.width();
        context.run(() -> context.launch(kernel("slice", c.dtype()), gridFor(rows * width, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(ptr(c.x())).ptr(ptr(c.out())).i64(rows).i32(c.columns()).i32(c.from()).i32(width)));
    }
}
