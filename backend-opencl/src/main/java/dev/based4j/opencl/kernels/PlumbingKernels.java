package dev.based4j.opencl.kernels;

import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.opencl.runtime.ClMemory;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.tensor.DType;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * Model plumbing ({@code plumbing.cl}): matrix multiply, norms, activations, element-wise ops, layout changes.
 * {@code linear} and {@code embedding} also read weights stored as bf16, f16 or int8 ({@link #WEIGHT_TYPES}),
 * widening each element to the call's type where it is loaded and accumulating in that type.
 */
public final class PlumbingKernels implements PlumbingFamily<ClBuffer> {
    private final ClContext cl;

    /** @param cl the context the kernels run in */
    public PlumbingKernels(ClContext cl) {
        this.cl = cl;
    }

    /**
     * The weight storage formats {@code plumbing.cl} reads besides the compute types: each is a build variant of the
     * program ({@code -DWEIGHT_BF16} ...), compiled on first use like the plain one.
     */
    public static final Set<DType> WEIGHT_TYPES =
            Collections.unmodifiableSet(EnumSet.of(DType.BF16, DType.F16, DType.I8));

    static final String FAMILY = "plumbing";
    private static final int TILE = 16;
    private static final int NORM_GROUP = 64;

    /**
     * {@code out [rows, outDim] = x [rows, in] · weight [outDim, in]ᵀ (+ bias)}, the weight stored as
     * {@code weightType} ({@code dtype}, {@link DType#BF16}, {@link DType#F16}, or {@link DType#I8} with
     * {@code scales} per output channel ({@code groupSize} 0) or per group of {@code groupSize} inputs).
     */
    public static void linear(ClContext cl, ClMemory x, ClMemory weight, DType weightType, ClMemory scales,
            int groupSize, ClMemory bias, ClMemory out, long rows, int in, int outDim, DType dtype) {
        int m = Math.toIntExact(rows);
        String variant = variant(weightType, dtype);
        boolean tiled = m >= TILE && cl.maxWorkGroupSize(FAMILY, variant, dtype, "linear_tiled") >= TILE * TILE;
        var launch = cl.launch(FAMILY, variant, dtype, tiled ? "linear_tiled" : "linear_rows")
                .mem(x)
                .mem(weight)
                .mem(scales)
                .i(group(weightType, groupSize, in))
                .mem(bias)
                .mem(out)
                .i(m)
                .i(outDim)
                .i(in)
                .i(bias == null ? 0 : 1);
        if (tiled) {
            launch.run(new long[] {Sizes.roundUp(outDim, TILE), Sizes.roundUp(m, TILE)}, new long[] {TILE, TILE});
        } else {
            launch.run(new long[] {outDim, m}, null);
        }
    }

    private static String variant(DType weightType, DType dtype) {
        if (weightType == dtype) {
            return "";
        }
        return switch (weightType) {
            case BF16 -> "-DWEIGHT_BF16=1";
            case F16 -> "-DWEIGHT_F16=1";
            case I8 -> "-DWEIGHT_I8=1";
            // validated by based4j: a float weight is of the call's type
            case F32, F64 -> throw new IllegalStateException(
                    "weight: " + weightType.label() + " weights in a " + dtype.label() + " call");
        };
    }

    /** Inputs per int8 scale as the kernels index them: one group of all {@code in} inputs per output channel. */
    private static int group(DType weightType, int groupSize, int in) {
        return weightType != DType.I8 ? 0 : groupSize == 0 ? in : groupSize;
    }

    /** RMSNorm over the last dimension {@code d} of {@code rows} rows. */
    public static void rmsNorm(ClContext cl, ClMemory x, ClMemory weight, double eps, ClMemory out, long rows, int d,
            DType dtype) {
        int group = Sizes.floorPowerOfTwo(Math.min(NORM_GROUP, cl.maxWorkGroupSize(FAMILY, dtype, "rms_norm")));
        cl.launch(FAMILY, dtype, "rms_norm")
                .mem(x)
                .mem(weight)
                .mem(out)
                .i(d)
                .real(eps)
                .local((long) group * dtype.byteSize())
                .run(rows * group, group);
    }

    /** {@code out = op(x)} element-wise for {@code op} = {@code silu} or {@code gelu}. */
    public static void unary(ClContext cl, String op, ClMemory x, ClMemory out, long n, DType dtype) {
        cl.launch(FAMILY, dtype, op).mem(x).mem(out).l(n)
                .run(Sizes.roundUp(n, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
    }

    /** {@code out = a op b} element-wise for {@code op} = {@code add} or {@code mul}. */
    public static void binary(ClContext cl, String op, ClMemory a, ClMemory b, ClMemory out, long n, DType dtype) {
        cl.launch(FAMILY, dtype, op).mem(a).mem(b).mem(out).l(n)
                .run(Sizes.roundUp(n, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
    }

    /**
     * Rows {@code ids} of {@code table [vocab, d]}, stored as {@code tableType} (int8 with {@code scales} per row or
     * per group of {@code groupSize} columns), into {@code out [ids.length, d]} of {@code dtype}.
     */
    public static void embedding(ClContext cl, ClMemory table, DType tableType, ClMemory scales, int groupSize,
            int[] ids, ClMemory out, int d, DType dtype) {
        long n = (long) ids.length * d;
        try (ClBuffer idBuffer = cl.upload(ids)) {
            cl.launch(FAMILY, variant(tableType, dtype), dtype, "embedding").mem(table).mem(scales)
                    .i(group(tableType, groupSize, d)).mem(idBuffer).mem(out).i(ids.length).i(d)
                    .run(Sizes.roundUp(n, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
        }
    }

    /**
     * Rotary embedding on {@code x [rows, seq, d]}. The angles {@code (start + t)·base^(-2i/rotaryDim)} and their
     * cosines and sines are computed here in double, once per call, exactly as the reference does.
     */
    public static void rotary(ClContext cl, ClMemory x, long start, int rotaryDim, double base, ClMemory out,
            long rows, int seq, int d, DType dtype) {
        int half = rotaryDim / 2;
        double[] cos = new double[seq * half];
        double[] sin = new double[seq * half];
        for (int t = 0; t < seq; t++) {
            double pos = start + t;
            for (int i = 0; i < half; i++) {
                double theta = pos * Math.pow(base, -2.0 * i / rotaryDim);
                cos[t * half + i] = Math.cos(theta);
                sin[t * half + i] = Math.sin(theta);
            }
        }
        long n = rows * seq * d;
        try (ClBuffer cs = cl.upload(cos, dtype); ClBuffer sn = cl.upload(sin, dtype)) {
            cl.launch(FAMILY, dtype, "rotary").mem(x).mem(cs).mem(sn).mem(out).l(n).i(seq).i(d).i(half)
                    .run(Sizes.roundUp(n, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
        }
    }

    /** {@code split_heads} or {@code merge_heads} over {@code n} elements. */
    public static void heads(ClContext cl, String op, ClMemory x, ClMemory out, long n, int seq, int heads, int d,
            DType dtype) {
        cl.launch(FAMILY, dtype, op).mem(x).mem(out).l(n).i(seq).i(heads).i(d)
                .run(Sizes.roundUp(n, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
    }

    /** Columns {@code [from, from + width)} of {@code x [rows, cols]}. */
    public static void slice(ClContext cl, ClMemory x, ClMemory out, long rows, int cols, int from, int width,
            DType dtype) {
        long n = rows * width;
        cl.launch(FAMILY, dtype, "slice").mem(x).mem(out).l(n).i(cols).i(from).i(width)
                .run(Sizes.roundUp(n, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
    }

    // ---------------------------------------------------------------- the family, over validated calls

    @Override
    public void linear(PlumbingFamily.LinearCall<ClBuffer> c) {
        linear(cl, c.x(), c.weight(), c.weightType(), c.scales(), c.groupSize(), c.bias(), c.out(), c.rows(),
                c.inFeatures(), c.outFeatures(), c.dtype());
    }

    @Override
    public void rmsNorm(PlumbingFamily.NormCall<ClBuffer> c) {
        rmsNorm(cl, c.x(), c.weight(), c.eps(), c.out(), c.rows(), c.dim(), c.dtype());
    }

    @Override
    public void silu(PlumbingFamily.UnaryCall<ClBuffer> c) {
        unary(cl, "silu", c.x(), c.out(), c.elements(), c.dtype());
    }

    @Override
    public void gelu(PlumbingFamily.UnaryCall<ClBuffer> c) {
        unary(cl, "gelu", c.x(), c.out(), c.elements(), c.dtype());
    }

    @Override
    public void add(PlumbingFamily.BinaryCall<ClBuffer> c) {
        binary(cl, "add", c.a(), c.b(), c.out(), c.elements(), c.dtype());
    }

    @Override
    public void multiply(PlumbingFamily.BinaryCall<ClBuffer> c) {
        binary(cl, "mul", c.a(), c.b(), c.out(), c.elements(), c.dtype());
    }

    @Override
    public void embedding(PlumbingFamily.EmbeddingCall<ClBuffer> c) {
        embedding(cl, c.table(), c.tableType(), c.scales(), c.groupSize(), c.ids(), c.out(), c.dim(), c.dtype());
    }

    @Override
    public void rotary(PlumbingFamily.RotaryCall<ClBuffer> c) {
        rotary(cl, c.x(), c.startPosition(), c.rotaryDim(), c.base(), c.out(), c.rows(), c.seq(), c.dim(), c.dtype());
    }

    @Override
    public void splitHeads(PlumbingFamily.HeadsCall<ClBuffer> c) {
        heads(cl, "split_heads", c.x(), c.out(), elements(c), c.seq(), c.heads(), c.headDim(), c.dtype());
    }

    @Override
    public void mergeHeads(PlumbingFamily.HeadsCall<ClBuffer> c) {
        heads(cl, "merge_heads", c.x(), c.out(), elements(c), c.seq(), c.heads(), c.headDim(), c.dtype());
    }

    private static long elements(PlumbingFamily.HeadsCall<ClBuffer> c) {
        return (long) c.batch() * c.seq() * c.heads() * c.headDim();
    }

    @Override
    public void slice(PlumbingFamily.SliceCall<ClBuffer> c) {
        slice(cl, c.x(), c.out(), c.rows(), c.columns(), c.from(), c.width(), c.dtype());
    }
}
