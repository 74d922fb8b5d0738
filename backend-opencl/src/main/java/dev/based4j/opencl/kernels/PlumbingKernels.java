package dev.based4j.opencl.kernels;

import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.opencl.runtime.ClMemory;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.tensor.DType;

/** Model plumbing ({@code plumbing.cl}): matrix multiply, norms, activations, element-wise ops, layout changes. */
public final class PlumbingKernels implements PlumbingFamily<ClBuffer> {
    private final ClContext cl;

    /** @param cl the context the kernels run in */
    public PlumbingKernels(ClContext cl) {
        this.cl = cl;
    }

    static final String FAMILY = "plumbing";
    private static final int TILE = 16;
    private static final int NORM_GROUP = 64;

    /** {@code out [rows, outDim] = x [rows, in] · weight [outDim, in]ᵀ (+ bias)}. */
    public static void linear(ClContext cl, ClMemory x, ClMemory weight, ClMemory bias, ClMemory out, long rows,
            int in, int outDim, DType dtype) {
        int m = Math.toIntExact(rows);
        boolean tiled = m >= TILE && cl.maxWorkGroupSize(FAMILY, dtype, "linear_tiled") >= TILE * TILE;
        var launch = cl.launch(FAMILY, dtype, tiled ? "linear_tiled" : "linear_rows")
                .mem(x)
                .mem(weight)
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

    /** Rows {@code ids} of {@code table [vocab, d]} into {@code out [ids.length, d]}. */
    public static void embedding(ClContext cl, ClMemory table, int[] ids, ClMemory out, int d, DType dtype) {
        long n = (long) ids.length * d;
        try (ClBuffer idBuffer = cl.upload(ids)) {
            cl.launch(FAMILY, dtype, "embedding").mem(table).mem(idBuffer).mem(out).i(ids.length).i(d)
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
        linear(cl, c.x(), c.weight(), c.bias(), c.out(), c.rows(), c.inFeatures(), c.outFeatures(), c.dtype());
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
        embedding(cl, c.table(), c.ids(), c.out(), c.dim(), c.dtype());
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
