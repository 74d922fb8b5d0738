package dev.based4j.cpu.kernels;

import dev.based4j.spi.PlumbingFamily;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The model plumbing: linear layers, RMSNorm, SiLU, GELU, element-wise add and multiply, embedding gather,
 * rotary embedding and the head reshapes. Float64 calls {@link Reference}; the pure data movement (embedding,
 * head reshapes, slices) copies bytes, which is exact in either type. Linear weights and embedding tables may be
 * stored as bf16, f16 or int8 ({@link ReducedWeights}): they are widened to the compute type as they are read.
 */
public final class PlumbingKernels implements PlumbingFamily<CpuBuffer> {
    /** Rows of x per task of {@link #linear}: the block is copied to the heap once per task. */
    private static final int ROW_BLOCK = 256;
    /** Output columns of {@link #linear} are split among tasks in multiples of this. */
    private static final int PANEL = 64;
    /** Weight rows per cache block of {@link #linear} at most. */
    private static final int DECODE_BLOCK = 16;
    /** Elements per task of the element-wise ops. */
    private static final int ELEMENT_BLOCK = 1 << 14;

    private final CpuPool pool;
    private final F32Kernels kernels;

    /** @param kernels the float32 inner loops */
    public PlumbingKernels(CpuPool pool, F32Kernels kernels) {
        this.pool = pool;
        this.kernels = kernels;
    }

    // ---------------------------------------------------------------- linear

    /**
     * {@code out = x·Wᵀ (+ bias)} with {@code x [rows, in]}, {@code W [outDim, in]} of the compute type. Tasks are
     * blocks of rows and, when there are too few rows to keep every thread busy (decode), blocks of output columns.
     *
     * @param bias {@code [outDim]} or null
     */
    public void linear(DType dtype, MemorySegment x, int rows, int in, MemorySegment weight, int outDim,
            MemorySegment bias, MemorySegment out) {
        linear(dtype, x, rows, in, weight, dtype, null, 0, outDim, bias, out);
    }

    /**
     * {@code out = x·Wᵀ (+ bias)} with {@code W [outDim, in]} stored as {@code weightType}: the compute type, or bf16,
     * f16 and int8 ({@code scales} of the compute type, per row or per group of {@code groupSize} inputs), whose
     * elements are widened (and scaled) to the compute type as they are read; every sum accumulates in the compute
     * type. Each weight element is read where it lies, whatever the number of rows, so that a row's result does not
     * depend on the rows computed with it.
     *
     * @param scales int8 scales, or null
     * @param bias {@code [outDim]} or null
     */
    public void linear(DType dtype, MemorySegment x, int rows, int in, MemorySegment weight, DType weightType,
            MemorySegment scales, int groupSize, int outDim, MemorySegment bias, MemorySegment out) {
        int rowBlocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
        int colBlocks = Math.max(1, Math.min((outDim + PANEL - 1) / PANEL, (4 * pool.threads() + rowBlocks - 1) / rowBlocks));
        int colWidth = (outDim + colBlocks - 1) / colBlocks;
        int width = (colWidth + PANEL - 1) / PANEL * PANEL;
        int tasks = rowBlocks * ((outDim + width - 1) / width);
        int colTasks = (outDim + width - 1) / width;
        long work = (long) Math.min(rows, ROW_BLOCK) * width * in;
        int scaleCount = weightType != DType.I8 ? 0 : groupSize == 0 ? outDim : outDim * (in / groupSize);
        if (dtype == DType.F64) {
            double[] w = weightType == DType.F64 ? Mem.readDoubles(weight, 0, Math.multiplyExact(outDim, in))
                    : ReducedWeights.toDoubles(weightType, weight, 0, outDim, in,
                            scales == null ? null : Mem.readDoubles(scales, 0, scaleCount), groupSize);
            double[] b = bias == null ? null : Mem.readDoubles(bias, 0, outDim);
            pool.forEach(rowBlocks, work * colTasks, rb -> {
                int r0 = rb * ROW_BLOCK;
                int nr = Math.min(ROW_BLOCK, rows - r0);
                double[] y = Reference.linear(Mem.readDoubles(x, (long) r0 * in, nr * in), nr, in, w, outDim, b);
                Mem.write(y, 0, out, (long) r0 * outDim, nr * outDim);
            });
            return;
        }
        boolean reduced = weightType != DType.F32;
        float[] scale = scales == null ? null : Mem.readFloats(scales, 0, scaleCount);
        float[] b = bias == null ? null : Mem.readFloats(bias, 0, outDim);
        // weight rows per cache block: as many as fill about 32 KiB, so the block stays in L1 while the rows of x pass
        int block = Math.max(4, Math.min(DECODE_BLOCK, (8192 / Math.max(1, in)) & ~3));
        pool.forEach(tasks, work, task -> {
            int r0 = task / colTasks * ROW_BLOCK;
            int nr = Math.min(ROW_BLOCK, rows - r0);
            int c0 = task % colTasks * width;
            int nc = Math.min(width, outDim - c0);
            float[] xb = Scratch.floats(0, nr * in);
            float[] yb = Scratch.floats(2, nr * nc);
            Mem.read(x, (long) r0 * in, xb, 0, nr * in);
            // every output element is one dot product read from the weight where it lies, computed the same way
            // whatever the number of rows (dotTile, dotReducedRows): a row's result never depends on the rows batched
            // with it; a block of weight rows stays in cache while the rows of x pass over it
            for (int j0 = 0; j0 < nc; j0 += block) {
                int nj = Math.min(block, nc - j0);
                if (reduced) {
                    for (int r = 0; r < nr; r++) {
                        kernels.dotReducedRows(weightType, xb, r * in, weight, c0 + j0, nj, in, scale, groupSize,
                                yb, r * nc + j0);
                    }
                } else {
                    kernels.dotTile(xb, 0, in, nr, weight, (long) (c0 + j0) * in, in, nj, in, yb, j0, nc);
                }
            }
            for (int r = 0; r < nr; r++) {
                if (b != null) {
                    kernels.axpy(1f, b, c0, yb, r * nc, nc);
                }
                Mem.write(yb, r * nc, out, (long) (r0 + r) * outDim + c0, nc);
            }
        });
    }

    // ---------------------------------------------------------------- norms and activations

    /** RMSNorm over rows of {@code d}: {@code x / sqrt(mean(x²) + eps) · w}. */
    public void rmsNorm(DType dtype, MemorySegment x, int rows, int d, MemorySegment weight, double eps,
            MemorySegment out) {
        int rowsPerTask = Math.max(1, ELEMENT_BLOCK / d);
        int tasks = (rows + rowsPerTask - 1) / rowsPerTask;
        if (dtype == DType.F64) {
            double[] w = Mem.readDoubles(weight, 0, d);
            pool.forEach(tasks, (long) rowsPerTask * d, t -> {
                int r0 = t * rowsPerTask;
                int nr = Math.min(rowsPerTask, rows - r0);
                double[] y = Reference.rmsNorm(Mem.readDoubles(x, (long) r0 * d, nr * d), nr, d, w, eps);
                Mem.write(y, 0, out, (long) r0 * d, nr * d);
            });
            return;
        }
        float[] w = Mem.readFloats(weight, 0, d);
        pool.forEach(tasks, (long) rowsPerTask * d, t -> {
            int r0 = t * rowsPerTask;
            int nr = Math.min(rowsPerTask, rows - r0);
            float[] xb = Scratch.floats(0, nr * d);
            Mem.read(x, (long) r0 * d, xb, 0, nr * d);
            for (int r = 0; r < nr; r++) {
                int o = r * d;
                double meanSquare = (double) kernels.dot(xb, o, xb, o, d) / d;
                float inv = (float) (1.0 / Math.sqrt(meanSquare + eps));
                for (int i = 0; i < d; i++) {
                    xb[o + i] = xb[o + i] * inv * w[i];
                }
            }
            Mem.write(xb, 0, out, (long) r0 * d, nr * d);
        });
    }

    /** {@code x·sigmoid(x)}, element-wise over {@code n} values. */
    public void silu(DType dtype, MemorySegment x, long n, MemorySegment out) {
        if (dtype == DType.F64) {
            elementwise64(x, n, out, Reference::silu);
            return;
        }
        elementwise32(n, 4, (o, len) -> {
            float[] a = Scratch.floats(0, len);
            Mem.read(x, o, a, 0, len);
            kernels.silu(a, 0, len);
            Mem.write(a, 0, out, o, len);
        });
    }

    /** Exact GELU {@code x·Φ(x)}, element-wise over {@code n} values. */
    public void gelu(DType dtype, MemorySegment x, long n, MemorySegment out) {
        if (dtype == DType.F64) {
            elementwise64(x, n, out, Reference::gelu);
            return;
        }
        elementwise32(n, 8, (o, len) -> {
            float[] a = Scratch.floats(0, len);
            Mem.read(x, o, a, 0, len);
            for (int i = 0; i < len; i++) {
                // x·Φ(x) = x/2 · erfc(-x/√2)
                a[i] = (float) (0.5 * a[i] * erfc(-a[i] * INV_SQRT2));
            }
            Mem.write(a, 0, out, o, len);
        });
    }

    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);

    /**
     * The complementary error function with relative error below 1.2e-7 everywhere (the Chebyshev fit of
     * Numerical Recipes' {@code erfcc}), ample for float32 results.
     */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }

    /** {@code out = a + b} element-wise. */
    public void add(DType dtype, MemorySegment a, MemorySegment b, long n, MemorySegment out) {
        binary(dtype, a, b, n, out, false);
    }

    /** {@code out = a ⊙ b} element-wise. */
    public void multiply(DType dtype, MemorySegment a, MemorySegment b, long n, MemorySegment out) {
        binary(dtype, a, b, n, out, true);
    }

    private void binary(DType dtype, MemorySegment a, MemorySegment b, long n, MemorySegment out, boolean product) {
        if (dtype == DType.F64) {
            forBlocks(n, 1, (o, len) -> {
                double[] x = Mem.readDoubles(a, o, len);
                double[] y = Mem.readDoubles(b, o, len);
                for (int i = 0; i < len; i++) {
                    x[i] = product ? x[i] * y[i] : x[i] + y[i];
                }
                Mem.write(x, 0, out, o, len);
            });
            return;
        }
        elementwise32(n, 1, (o, len) -> {
            float[] x = Scratch.floats(0, len);
            float[] y = Scratch.floats(1, len);
            Mem.read(a, o, x, 0, len);
            Mem.read(b, o, y, 0, len);
            if (product) {
                for (int i = 0; i < len; i++) {
                    x[i] *= y[i];
                }
            } else {
                kernels.axpy(1f, y, 0, x, 0, len);
            }
            Mem.write(x, 0, out, o, len);
        });
    }

    private interface Block {
        void run(long offset, int length);
    }

    private void elementwise32(long n, int costPerElement, Block body) {
        forBlocks(n, costPerElement, body);
    }

    private void elementwise64(MemorySegment x, long n, MemorySegment out, java.util.function.UnaryOperator<double[]> f) {
        forBlocks(n, 8, (o, len) -> Mem.write(f.apply(Mem.readDoubles(x, o, len)), 0, out, o, len));
    }

    private void forBlocks(long n, int costPerElement, Block body) {
        int tasks = Math.toIntExact((n + ELEMENT_BLOCK - 1) / ELEMENT_BLOCK);
        pool.forEach(tasks, (long) ELEMENT_BLOCK * costPerElement, t -> {
            long o = (long) t * ELEMENT_BLOCK;
            body.run(o, (int) Math.min(ELEMENT_BLOCK, n - o));
        });
    }

    // ---------------------------------------------------------------- gathers and reshapes

    /** Rows {@code ids} of {@code table [vocab, d]} into {@code out [ids.length, d]}; a byte copy per row. */
    public void embedding(DType dtype, MemorySegment table, int d, int[] ids, MemorySegment out) {
        long row = (long) d * dtype.byteSize();
        for (int i = 0; i < ids.length; i++) {
            MemorySegment.copy(table, ids[i] * row, out, i * row, row);
        }
    }

    /**
     * Rows {@code ids} of {@code table [vocab, d]} stored as {@code tableType} into {@code out [ids.length, d]} of
     * {@code dtype}: a byte copy per row when the types agree, else each row widened (int8: times its scales, per row
     * or per group of {@code groupSize} columns) into the compute type.
     */
    public void embedding(DType dtype, MemorySegment table, DType tableType, MemorySegment scales, int groupSize,
            int d, int[] ids, MemorySegment out) {
        if (tableType == dtype) {
            embedding(dtype, table, d, ids, out);
            return;
        }
        long rowBytes = (long) d * tableType.byteSize();
        int runs = tableType != DType.I8 ? 0 : groupSize == 0 ? 1 : d / groupSize;
        for (int i = 0; i < ids.length; i++) {
            // one row on its own: the row's memory and its scales, indexed from 0
            MemorySegment rowMemory = table.asSlice(ids[i] * rowBytes, rowBytes);
            if (dtype == DType.F64) {
                double[] rowScales = runs == 0 ? null : Mem.readDoubles(scales, (long) ids[i] * runs, runs);
                Mem.write(ReducedWeights.toDoubles(tableType, rowMemory, 0, 1, d, rowScales, groupSize), 0, out,
                        (long) i * d, d);
            } else {
                float[] rowScales = runs == 0 ? null : Mem.readFloats(scales, (long) ids[i] * runs, runs);
                float[] values = Scratch.floats(0, d);
                kernels.widenRows(tableType, rowMemory, 0, 1, d, rowScales, groupSize, values, 0);
                Mem.write(values, 0, out, (long) i * d, d);
            }
        }
    }

    /**
     * Rotary embedding, rotate-halves, on {@code x [rows, seq, d]}: token {@code t} at position
     * {@code start + t}, {@code θ_i = base^(-2i/rotaryDim)}. Angles are formed in double (positions reach
     * the tens of thousands) and tabulated once per call, shared by every row.
     */
    public void rotary(DType dtype, MemorySegment x, int rows, int seq, int d, long start, int rotaryDim,
            double base, MemorySegment out) {
        if (dtype == DType.F64) {
            pool.forEach(rows, (long) seq * d * 8, r -> {
                double[] y = Reference.rotary(Mem.readDoubles(x, (long) r * seq * d, seq * d), 1, seq, d, start,
                        rotaryDim, base);
                Mem.write(y, 0, out, (long) r * seq * d, seq * d);
            });
            return;
        }
        int half = rotaryDim / 2;
        float[] cos = new float[seq * half];
        float[] sin = new float[seq * half];
        for (int i = 0; i < half; i++) {
            double theta = Math.pow(base, -2.0 * i / rotaryDim);
            for (int t = 0; t < seq; t++) {
                double angle = (start + t) * theta;
                cos[t * half + i] = (float) Math.cos(angle);
                sin[t * half + i] = (float) Math.sin(angle);
            }
        }
        pool.forEach(rows, (long) seq * d, r -> {
            float[] a = Scratch.floats(0, seq * d);
            Mem.read(x, (long) r * seq * d, a, 0, seq * d);
            for (int t = 0; t < seq; t++) {
                int o = t * d;
                int c = t * half;
                for (int i = 0; i < half; i++) {
                    float u = a[o + i];
                    float w = a[o + i + half];
                    a[o + i] = u * cos[c + i] - w * sin[c + i];
                    a[o + i + half] = u * sin[c + i] + w * cos[c + i];
                }
            }
            Mem.write(a, 0, out, (long) r * seq * d, seq * d);
        });
    }

    /** {@code x [batch, seq, heads·d] → out [batch, heads, seq, d]}; a byte copy per (token, head). */
    public void splitHeads(DType dtype, MemorySegment x, int batch, int seq, int heads, int d, MemorySegment out) {
        long row = (long) d * dtype.byteSize();
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                for (int h = 0; h < heads; h++) {
                    MemorySegment.copy(x, (((long) b * seq + t) * heads + h) * row, out,
                            (((long) b * heads + h) * seq + t) * row, row);
                }
            }
        }
    }

    /** {@code x [batch, heads, seq, d] → out [batch, seq, heads·d]}; a byte copy per (head, token). */
    public void mergeHeads(DType dtype, MemorySegment x, int batch, int heads, int seq, int d, MemorySegment out) {
        long row = (long) d * dtype.byteSize();
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int t = 0; t < seq; t++) {
                    MemorySegment.copy(x, (((long) b * heads + h) * seq + t) * row, out,
                            (((long) b * seq + t) * heads + h) * row, row);
                }
            }
        }
    }

    /** Columns {@code [from, from + width)} of {@code x [rows, n]}; a byte copy per row. */
    public void slice(DType dtype, MemorySegment x, long rows, int n, int from, int width, MemorySegment out) {
        long size = dtype.byteSize();
        for (long r = 0; r < rows; r++) {
            MemorySegment.copy(x, (r * n + from) * size, out, r * width * size, width * size);
        }
    }

    // ---------------------------------------------------------------- the family, over validated calls

    @Override
    public void linear(PlumbingFamily.LinearCall<CpuBuffer> c) {
        linear(c.dtype(), c.x().segment(), Math.toIntExact(c.rows()), c.inFeatures(), c.weight().segment(),
                c.weightType(), c.scales() == null ? null : c.scales().segment(), c.groupSize(), c.outFeatures(),
                c.bias() == null ? null : c.bias().segment(), c.out().segment());
    }

    @Override
    public void rmsNorm(PlumbingFamily.NormCall<CpuBuffer> c) {
        rmsNorm(c.dtype(), c.x().segment(), Math.toIntExact(c.rows()), c.dim(), c.weight().segment(), c.eps(),
                c.out().segment());
    }

    @Override
    public void silu(PlumbingFamily.UnaryCall<CpuBuffer> c) {
        silu(c.dtype(), c.x().segment(), c.elements(), c.out().segment());
    }

    @Override
    public void gelu(PlumbingFamily.UnaryCall<CpuBuffer> c) {
        gelu(c.dtype(), c.x().segment(), c.elements(), c.out().segment());
    }

    @Override
    public void add(PlumbingFamily.BinaryCall<CpuBuffer> c) {
        add(c.dtype(), c.a().segment(), c.b().segment(), c.elements(), c.out().segment());
    }

    @Override
    public void multiply(PlumbingFamily.BinaryCall<CpuBuffer> c) {
        multiply(c.dtype(), c.a().segment(), c.b().segment(), c.elements(), c.out().segment());
    }

    @Override
    public void embedding(PlumbingFamily.EmbeddingCall<CpuBuffer> c) {
        embedding(c.dtype(), c.table().segment(), c.tableType(), c.scales() == null ? null : c.scales().segment(),
                c.groupSize(), c.dim(), c.ids(), c.out().segment());
    }

    @Override
    public void rotary(PlumbingFamily.RotaryCall<CpuBuffer> c) {
        rotary(c.dtype(), c.x().segment(), Math.toIntExact(c.rows()), c.seq(), c.dim(), c.startPosition(),
                c.rotaryDim(), c.base(), c.out().segment());
    }

    @Override
    public void splitHeads(PlumbingFamily.HeadsCall<CpuBuffer> c) {
        splitHeads(c.dtype(), c.x().segment(), c.batch(), c.seq(), c.heads(), c.headDim(), c.out().segment());
    }

    @Override
    public void mergeHeads(PlumbingFamily.HeadsCall<CpuBuffer> c) {
        mergeHeads(c.dtype(), c.x().segment(), c.batch(), c.heads(), c.seq(), c.headDim(), c.out().segment());
    }

    @Override
    public void slice(PlumbingFamily.SliceCall<CpuBuffer> c) {
        slice(c.dtype(), c.x().segment(), c.rows(), c.columns(), c.from(), c.width(), c.out().segment());
    }
}
