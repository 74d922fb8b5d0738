package dev.based4j.cpu.kernels;

import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link F32Kernels} with the Vector API ({@code jdk.incubator.vector}) at the platform's preferred width.
 * Loaded by name from {@link F32Kernels#select(boolean)} only when the module is present, so no class that is always
 * loaded mentions vector types (the Lucene pattern); its constructor refuses platforms whose preferred vectors
 * hold fewer than four floats, where the plain loops are as fast.
 *
 * <p>Matrix products use register tiles: four rows of the result by two vectors of columns, each loaded vector
 * of {@code b} and each broadcast value of {@code a} serving several fused multiply-adds. {@code a·bᵀ} with
 * enough rows first transposes a panel of {@code b} so it can use the same tile.
 */
public final class VectorF32Kernels implements F32Kernels {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Columns of {@code b} transposed at a time by {@link #matmulTransposed}. */
    private static final int PANEL = 128;

    private static final ThreadLocal<float[]> PANEL_BUFFER = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * @throws UnsupportedOperationException when the preferred vector holds fewer than four floats
     */
    public VectorF32Kernels() {
        if (LANES < 4) {
            throw new UnsupportedOperationException(
                    "preferred float vector has " + LANES + " lanes; the plain loops are as fast");
        }
    }

    @Override
    public String name() {
        return "vector (" + SPECIES.vectorBitSize() + "-bit)";
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = FloatVector.zero(SPECIES);
        int i = 0;
        for (; i + 2 * LANES <= n; i += 2 * LANES) {
            acc0 = FloatVector.fromArray(SPECIES, a, aOffset + i)
                    .fma(FloatVector.fromArray(SPECIES, b, bOffset + i), acc0);
            acc1 = FloatVector.fromArray(SPECIES, a, aOffset + i + LANES)
                    .fma(FloatVector.fromArray(SPECIES, b, bOffset + i + LANES), acc1);
        }
        if (i + LANES <= n) {
            acc0 = FloatVector.fromArray(SPECIES, a, aOffset + i)
                    .fma(FloatVector.fromArray(SPECIES, b, bOffset + i), acc0);
            i += LANES;
        }
        float s = sumLanes(acc0.add(acc1));
        for (; i < n; i++) {
            s += a[aOffset + i] * b[bOffset + i];
        }
        return s;
    }

    @Override
    public float dot(float[] a, int aOffset, MemorySegment b, long bIndex, int n) {
        // four independent sums: a weight row streamed from memory is not held up by the latency of one chain
        long bo = bIndex * Float.BYTES;
        ByteOrder order = ByteOrder.nativeOrder();
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = FloatVector.zero(SPECIES);
        FloatVector acc2 = FloatVector.zero(SPECIES);
        FloatVector acc3 = FloatVector.zero(SPECIES);
        long step = (long) LANES * Float.BYTES;
        int i = 0;
        for (; i + 4 * LANES <= n; i += 4 * LANES) {
            long at = bo + (long) i * Float.BYTES;
            acc0 = FloatVector.fromArray(SPECIES, a, aOffset + i)
                    .fma(FloatVector.fromMemorySegment(SPECIES, b, at, order), acc0);
            acc1 = FloatVector.fromArray(SPECIES, a, aOffset + i + LANES)
                    .fma(FloatVector.fromMemorySegment(SPECIES, b, at + step, order), acc1);
            acc2 = FloatVector.fromArray(SPECIES, a, aOffset + i + 2 * LANES)
                    .fma(FloatVector.fromMemorySegment(SPECIES, b, at + 2 * step, order), acc2);
            acc3 = FloatVector.fromArray(SPECIES, a, aOffset + i + 3 * LANES)
                    .fma(FloatVector.fromMemorySegment(SPECIES, b, at + 3 * step, order), acc3);
        }
        for (; i + LANES <= n; i += LANES) {
            acc0 = FloatVector.fromArray(SPECIES, a, aOffset + i)
                    .fma(FloatVector.fromMemorySegment(SPECIES, b, bo + (long) i * Float.BYTES, order), acc0);
        }
        float s = sumLanes(acc0.add(acc1).add(acc2.add(acc3)));
        for (; i < n; i++) {
            s += a[aOffset + i] * b.get(Mem.F32, bo + (long) i * Float.BYTES);
        }
        return s;
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        FloatVector av = FloatVector.broadcast(SPECIES, alpha);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector.fromArray(SPECIES, x, xOffset + i).fma(av, FloatVector.fromArray(SPECIES, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }

    @Override
    public void dotRows(float[] x, int xOffset, MemorySegment w, long wIndex, long ldw, int rows, int n, float[] out,
            int outOffset) {
        dotTile(x, xOffset, 0, 1, w, wIndex, ldw, rows, n, out, outOffset, 0);
    }

    /**
     * Each element: one vector accumulator over {@code i} in steps of {@code LANES}, {@link #sumLanes}, then the
     * remainder added in order. Tiles of two rows of {@code x} by four weight rows: each loaded vector serves two or
     * four products, and eight independent sums hide the latency of the fused multiply-adds (32 registers of AVX-512
     * hold them with room; on AVX2 a few spill).
     */
    @Override
    public void dotTile(float[] x, int xOffset, int ldx, int xRows, MemorySegment w, long wIndex, long ldw, int wRows,
            int n, float[] out, int outOffset, int ldo) {
        int r = 0;
        for (; r + 1 < xRows; r += 2) {
            int x0 = xOffset + r * ldx;
            int c = 0;
            for (; c + 3 < wRows; c += 4) {
                dot2x4(x, x0, x0 + ldx, w, (wIndex + c * ldw) * Float.BYTES, ldw * Float.BYTES, n, out,
                        outOffset + r * ldo + c, ldo);
            }
            for (; c < wRows; c++) {
                out[outOffset + r * ldo + c] = dot1(x, x0, w, (wIndex + c * ldw) * Float.BYTES, n);
                out[outOffset + (r + 1) * ldo + c] = dot1(x, x0 + ldx, w, (wIndex + c * ldw) * Float.BYTES, n);
            }
        }
        for (; r < xRows; r++) {
            int x0 = xOffset + r * ldx;
            int c = 0;
            for (; c + 3 < wRows; c += 4) {
                dot1x4(x, x0, w, (wIndex + c * ldw) * Float.BYTES, ldw * Float.BYTES, n, out, outOffset + r * ldo + c);
            }
            for (; c < wRows; c++) {
                out[outOffset + r * ldo + c] = dot1(x, x0, w, (wIndex + c * ldw) * Float.BYTES, n);
            }
        }
    }

    /** One element of {@link #dotTile}. */
    private static float dot1(float[] x, int xo, MemorySegment w, long wo, int n) {
        ByteOrder order = ByteOrder.nativeOrder();
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            acc = FloatVector.fromArray(SPECIES, x, xo + i).fma(
                    FloatVector.fromMemorySegment(SPECIES, w, wo + (long) i * Float.BYTES, order), acc);
        }
        float t = sumLanes(acc);
        for (; i < n; i++) {
            t += x[xo + i] * w.get(Mem.F32, wo + (long) i * Float.BYTES);
        }
        return t;
    }

    /** One row of {@code x} by four weight rows, each element as {@link #dot1}. */
    private static void dot1x4(float[] x, int xo, MemorySegment w, long w0, long rowBytes, int n, float[] out,
            int oo) {
        ByteOrder order = ByteOrder.nativeOrder();
        long w1 = w0 + rowBytes;
        long w2 = w1 + rowBytes;
        long w3 = w2 + rowBytes;
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = acc0;
        FloatVector acc2 = acc0;
        FloatVector acc3 = acc0;
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            long o = (long) i * Float.BYTES;
            FloatVector xv = FloatVector.fromArray(SPECIES, x, xo + i);
            acc0 = xv.fma(FloatVector.fromMemorySegment(SPECIES, w, w0 + o, order), acc0);
            acc1 = xv.fma(FloatVector.fromMemorySegment(SPECIES, w, w1 + o, order), acc1);
            acc2 = xv.fma(FloatVector.fromMemorySegment(SPECIES, w, w2 + o, order), acc2);
            acc3 = xv.fma(FloatVector.fromMemorySegment(SPECIES, w, w3 + o, order), acc3);
        }
        float t0 = sumLanes(acc0);
        float t1 = sumLanes(acc1);
        float t2 = sumLanes(acc2);
        float t3 = sumLanes(acc3);
        for (; i < n; i++) {
            long o = (long) i * Float.BYTES;
            float xi = x[xo + i];
            t0 += xi * w.get(Mem.F32, w0 + o);
            t1 += xi * w.get(Mem.F32, w1 + o);
            t2 += xi * w.get(Mem.F32, w2 + o);
            t3 += xi * w.get(Mem.F32, w3 + o);
        }
        out[oo] = t0;
        out[oo + 1] = t1;
        out[oo + 2] = t2;
        out[oo + 3] = t3;
    }

    /** Two rows of {@code x} by four weight rows, each element as {@link #dot1}. */
    private static void dot2x4(float[] x, int xa, int xb, MemorySegment w, long w0, long rowBytes, int n, float[] out,
            int oo, int ldo) {
        ByteOrder order = ByteOrder.nativeOrder();
        long w1 = w0 + rowBytes;
        long w2 = w1 + rowBytes;
        long w3 = w2 + rowBytes;
        FloatVector a0 = FloatVector.zero(SPECIES);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            long o = (long) i * Float.BYTES;
            FloatVector xv = FloatVector.fromArray(SPECIES, x, xa + i);
            FloatVector yv = FloatVector.fromArray(SPECIES, x, xb + i);
            FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, w, w0 + o, order);
            FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, w, w1 + o, order);
            FloatVector v2 = FloatVector.fromMemorySegment(SPECIES, w, w2 + o, order);
            FloatVector v3 = FloatVector.fromMemorySegment(SPECIES, w, w3 + o, order);
            a0 = xv.fma(v0, a0);
            a1 = xv.fma(v1, a1);
            a2 = xv.fma(v2, a2);
            a3 = xv.fma(v3, a3);
            b0 = yv.fma(v0, b0);
            b1 = yv.fma(v1, b1);
            b2 = yv.fma(v2, b2);
            b3 = yv.fma(v3, b3);
        }
        float ta0 = sumLanes(a0);
        float ta1 = sumLanes(a1);
        float ta2 = sumLanes(a2);
        float ta3 = sumLanes(a3);
        float tb0 = sumLanes(b0);
        float tb1 = sumLanes(b1);
        float tb2 = sumLanes(b2);
        float tb3 = sumLanes(b3);
        for (; i < n; i++) {
            long o = (long) i * Float.BYTES;
            float xi = x[xa + i];
            float yi = x[xb + i];
            float e0 = w.get(Mem.F32, w0 + o);
            float e1 = w.get(Mem.F32, w1 + o);
            float e2 = w.get(Mem.F32, w2 + o);
            float e3 = w.get(Mem.F32, w3 + o);
            ta0 += xi * e0;
            ta1 += xi * e1;
            ta2 += xi * e2;
            ta3 += xi * e3;
            tb0 += yi * e0;
            tb1 += yi * e1;
            tb2 += yi * e2;
            tb3 += yi * e3;
        }
        out[oo] = ta0;
        out[oo + 1] = ta1;
        out[oo + 2] = ta2;
        out[oo + 3] = ta3;
        out[oo + ldo] = tb0;
        out[oo + ldo + 1] = tb1;
        out[oo + ldo + 2] = tb2;
        out[oo + ldo + 3] = tb3;
    }

    @Override
    public void dotReducedRows(DType type, float[] x, int xOffset, MemorySegment w, long row0, int rows, int n,
            float[] scales, int groupSize, float[] out, int outOffset) {
        VectorReducedWeights.dotRows(type, x, xOffset, w, row0, rows, n, scales, groupSize, out, outOffset);
    }

    @Override
    public void widenRows(DType type, MemorySegment w, long row0, int rows, int n, float[] scales, int groupSize,
            float[] dst, int dstOffset) {
        VectorReducedWeights.widenRows(type, w, row0, rows, n, scales, groupSize, dst, dstOffset);
    }

    @Override
    public void accumulateRows(float[] p, int pOffset, MemorySegment v, long vIndex, int rows, int n, float[] y,
            int yOffset) {
        ByteOrder order = ByteOrder.nativeOrder();
        int i = 0;
        // two vectors of y at a time stay in registers while every row passes
        for (; i + 2 * LANES <= n; i += 2 * LANES) {
            FloatVector y0 = FloatVector.fromArray(SPECIES, y, yOffset + i);
            FloatVector y1 = FloatVector.fromArray(SPECIES, y, yOffset + i + LANES);
            long at = (vIndex + i) * Float.BYTES;
            long rowBytes = (long) n * Float.BYTES;
            for (int r = 0; r < rows; r++, at += rowBytes) {
                FloatVector pr = FloatVector.broadcast(SPECIES, p[pOffset + r]);
                y0 = FloatVector.fromMemorySegment(SPECIES, v, at, order).fma(pr, y0);
                y1 = FloatVector.fromMemorySegment(SPECIES, v, at + (long) LANES * Float.BYTES, order).fma(pr, y1);
            }
            y0.intoArray(y, yOffset + i);
            y1.intoArray(y, yOffset + i + LANES);
        }
        for (; i < n; i++) {
            float sum = y[yOffset + i];
            for (int r = 0; r < rows; r++) {
                sum += p[pOffset + r] * v.get(Mem.F32, (vIndex + (long) r * n + i) * Float.BYTES);
            }
            y[yOffset + i] = sum;
        }
    }

    @Override
    public void silu(float[] x, int offset, int n) {
        FloatVector one = FloatVector.broadcast(SPECIES, 1f);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector v = FloatVector.fromArray(SPECIES, x, offset + i);
            v.div(VectorExp.exp(v.neg()).add(one)).intoArray(x, offset + i);
        }
        for (; i < n; i++) {
            float v = x[offset + i];
            x[offset + i] = (float) (v / (1.0 + Math.exp(-v)));
        }
    }

    @Override
    public void scale(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        FloatVector av = FloatVector.broadcast(SPECIES, alpha);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector.fromArray(SPECIES, x, xOffset + i).mul(av).intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] = alpha * x[xOffset + i];
        }
    }

    @Override
    public void multiply(float[] a, int aOffset, float[] b, int bOffset, float[] y, int yOffset, int n) {
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector.fromArray(SPECIES, a, aOffset + i).mul(FloatVector.fromArray(SPECIES, b, bOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] = a[aOffset + i] * b[bOffset + i];
        }
    }

    @Override
    public void multiplyAdd(float[] a, int aOffset, float[] b, int bOffset, float[] y, int yOffset, int n) {
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector.fromArray(SPECIES, a, aOffset + i)
                    .fma(FloatVector.fromArray(SPECIES, b, bOffset + i), FloatVector.fromArray(SPECIES, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] += a[aOffset + i] * b[bOffset + i];
        }
    }

    @Override
    public void matmul(float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c, int cOffset,
            int ldc, int rows, int depth, int cols, boolean accumulate) {
        if (!accumulate) {
            for (int r = 0; r < rows; r++) {
                java.util.Arrays.fill(c, cOffset + r * ldc, cOffset + r * ldc + cols, 0f);
            }
        }
        int r = 0;
        for (; r + 3 < rows; r += 4) {
            fourRows(a, aOffset + r * lda, lda, b, bOffset, ldb, c, cOffset + r * ldc, ldc, depth, cols);
        }
        for (; r < rows; r++) {
            oneRow(a, aOffset + r * lda, b, bOffset, ldb, c, cOffset + r * ldc, depth, cols);
        }
    }

    /** Four rows of {@code c += a·b}: tiles of 4 rows × 2 vectors, then 4 × 1 vector, then scalar columns. */
    private static void fourRows(float[] a, int ao, int lda, float[] b, int bo, int ldb, float[] c, int co, int ldc,
            int depth, int cols) {
        int a1 = ao + lda;
        int a2 = a1 + lda;
        int a3 = a2 + lda;
        int c1 = co + ldc;
        int c2 = c1 + ldc;
        int c3 = c2 + ldc;
        int j = 0;
        for (; j + 2 * LANES <= cols; j += 2 * LANES) {
            int jl = j + LANES;
            FloatVector s00 = FloatVector.fromArray(SPECIES, c, co + j);
            FloatVector s01 = FloatVector.fromArray(SPECIES, c, co + jl);
            FloatVector s10 = FloatVector.fromArray(SPECIES, c, c1 + j);
            FloatVector s11 = FloatVector.fromArray(SPECIES, c, c1 + jl);
            FloatVector s20 = FloatVector.fromArray(SPECIES, c, c2 + j);
            FloatVector s21 = FloatVector.fromArray(SPECIES, c, c2 + jl);
            FloatVector s30 = FloatVector.fromArray(SPECIES, c, c3 + j);
            FloatVector s31 = FloatVector.fromArray(SPECIES, c, c3 + jl);
            for (int i = 0; i < depth; i++) {
                int bi = bo + i * ldb;
                FloatVector b0 = FloatVector.fromArray(SPECIES, b, bi + j);
                FloatVector b1 = FloatVector.fromArray(SPECIES, b, bi + jl);
                FloatVector x0 = FloatVector.broadcast(SPECIES, a[ao + i]);
                FloatVector x1 = FloatVector.broadcast(SPECIES, a[a1 + i]);
                FloatVector x2 = FloatVector.broadcast(SPECIES, a[a2 + i]);
                FloatVector x3 = FloatVector.broadcast(SPECIES, a[a3 + i]);
                s00 = b0.fma(x0, s00);
                s01 = b1.fma(x0, s01);
                s10 = b0.fma(x1, s10);
                s11 = b1.fma(x1, s11);
                s20 = b0.fma(x2, s20);
                s21 = b1.fma(x2, s21);
                s30 = b0.fma(x3, s30);
                s31 = b1.fma(x3, s31);
            }
            s00.intoArray(c, co + j);
            s01.intoArray(c, co + jl);
            s10.intoArray(c, c1 + j);
            s11.intoArray(c, c1 + jl);
            s20.intoArray(c, c2 + j);
            s21.intoArray(c, c2 + jl);
            s30.intoArray(c, c3 + j);
            s31.intoArray(c, c3 + jl);
        }
        for (; j + LANES <= cols; j += LANES) {
            FloatVector s0 = FloatVector.fromArray(SPECIES, c, co + j);
            FloatVector s1 = FloatVector.fromArray(SPECIES, c, c1 + j);
            FloatVector s2 = FloatVector.fromArray(SPECIES, c, c2 + j);
            FloatVector s3 = FloatVector.fromArray(SPECIES, c, c3 + j);
            for (int i = 0; i < depth; i++) {
                FloatVector bv = FloatVector.fromArray(SPECIES, b, bo + i * ldb + j);
                s0 = bv.fma(FloatVector.broadcast(SPECIES, a[ao + i]), s0);
                s1 = bv.fma(FloatVector.broadcast(SPECIES, a[a1 + i]), s1);
                s2 = bv.fma(FloatVector.broadcast(SPECIES, a[a2 + i]), s2);
                s3 = bv.fma(FloatVector.broadcast(SPECIES, a[a3 + i]), s3);
            }
            s0.intoArray(c, co + j);
            s1.intoArray(c, c1 + j);
            s2.intoArray(c, c2 + j);
            s3.intoArray(c, c3 + j);
        }
        for (; j < cols; j++) {
            float s0 = c[co + j];
            float s1 = c[c1 + j];
            float s2 = c[c2 + j];
            float s3 = c[c3 + j];
            for (int i = 0; i < depth; i++) {
                float bv = b[bo + i * ldb + j];
                s0 += a[ao + i] * bv;
                s1 += a[a1 + i] * bv;
                s2 += a[a2 + i] * bv;
                s3 += a[a3 + i] * bv;
            }
            c[co + j] = s0;
            c[c1 + j] = s1;
            c[c2 + j] = s2;
            c[c3 + j] = s3;
        }
    }

    /** One row of {@code c += a·b}, a vector of columns at a time. */
    private static void oneRow(float[] a, int ao, float[] b, int bo, int ldb, float[] c, int co, int depth, int cols) {
        int j = 0;
        for (; j + LANES <= cols; j += LANES) {
            FloatVector s = FloatVector.fromArray(SPECIES, c, co + j);
            for (int i = 0; i < depth; i++) {
                s = FloatVector.fromArray(SPECIES, b, bo + i * ldb + j).fma(FloatVector.broadcast(SPECIES, a[ao + i]), s);
            }
            s.intoArray(c, co + j);
        }
        for (; j < cols; j++) {
            float s = c[co + j];
            for (int i = 0; i < depth; i++) {
                s += a[ao + i] * b[bo + i * ldb + j];
            }
            c[co + j] = s;
        }
    }

    @Override
    public void matmulTransposed(float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c,
            int cOffset, int ldc, int rows, int depth, int cols, boolean accumulate) {
        if (rows < 4 || cols < LANES) {
            // few rows or columns: one vector dot product per result, reading b once
            for (int r = 0; r < rows; r++) {
                int ao = aOffset + r * lda;
                int co = cOffset + r * ldc;
                for (int j = 0; j < cols; j++) {
                    float d = dot(a, ao, b, bOffset + j * ldb, depth);
                    c[co + j] = accumulate ? c[co + j] + d : d;
                }
            }
            return;
        }
        // many rows: a transposed panel of b is reused by every row, through the register tiles of matmul
        float[] panel = panelBuffer(depth * PANEL);
        for (int j0 = 0; j0 < cols; j0 += PANEL) {
            int width = Math.min(PANEL, cols - j0);
            for (int j = 0; j < width; j++) {
                int bo = bOffset + (j0 + j) * ldb;
                for (int i = 0; i < depth; i++) {
                    panel[i * width + j] = b[bo + i];
                }
            }
            matmul(a, aOffset, lda, panel, 0, width, c, cOffset + j0, ldc, rows, depth, width, accumulate);
        }
    }

    private static float[] panelBuffer(int size) {
        float[] p = PANEL_BUFFER.get();
        if (p.length < size) {
            p = new float[size];
            PANEL_BUFFER.set(p);
        }
        return p;
    }

    @Override
    public void updateThenProject(float[] s, int sOffset, int rows, int cols, float[] u, int uOffset, float[] w,
            int wOffset, float[] x, int xOffset, float[] out, int outOffset) {
        // four state rows per pass: each vector of w and x, loaded once, serves four rows, and the four read-outs
        // are independent chains of fused multiply-adds; the updated vector is projected while still in a register
        int r = 0;
        for (; r + 3 < rows; r += 4) {
            int s0 = sOffset + r * cols;
            int s1 = s0 + cols;
            int s2 = s1 + cols;
            int s3 = s2 + cols;
            float u0 = u[uOffset + r];
            float u1 = u[uOffset + r + 1];
            float u2 = u[uOffset + r + 2];
            float u3 = u[uOffset + r + 3];
            FloatVector uv0 = FloatVector.broadcast(SPECIES, u0);
            FloatVector uv1 = FloatVector.broadcast(SPECIES, u1);
            FloatVector uv2 = FloatVector.broadcast(SPECIES, u2);
            FloatVector uv3 = FloatVector.broadcast(SPECIES, u3);
            FloatVector acc0 = FloatVector.zero(SPECIES);
            FloatVector acc1 = acc0;
            FloatVector acc2 = acc0;
            FloatVector acc3 = acc0;
            int i = 0;
            for (; i + LANES <= cols; i += LANES) {
                FloatVector wv = FloatVector.fromArray(SPECIES, w, wOffset + i);
                FloatVector xv = FloatVector.fromArray(SPECIES, x, xOffset + i);
                FloatVector v0 = wv.fma(uv0, FloatVector.fromArray(SPECIES, s, s0 + i));
                v0.intoArray(s, s0 + i);
                acc0 = xv.fma(v0, acc0);
                FloatVector v1 = wv.fma(uv1, FloatVector.fromArray(SPECIES, s, s1 + i));
                v1.intoArray(s, s1 + i);
                acc1 = xv.fma(v1, acc1);
                FloatVector v2 = wv.fma(uv2, FloatVector.fromArray(SPECIES, s, s2 + i));
                v2.intoArray(s, s2 + i);
                acc2 = xv.fma(v2, acc2);
                FloatVector v3 = wv.fma(uv3, FloatVector.fromArray(SPECIES, s, s3 + i));
                v3.intoArray(s, s3 + i);
                acc3 = xv.fma(v3, acc3);
            }
            float t0 = sumLanes(acc0);
            float t1 = sumLanes(acc1);
            float t2 = sumLanes(acc2);
            float t3 = sumLanes(acc3);
            for (; i < cols; i++) {
                float wi = w[wOffset + i];
                float xi = x[xOffset + i];
                float v0 = s[s0 + i] + u0 * wi;
                float v1 = s[s1 + i] + u1 * wi;
                float v2 = s[s2 + i] + u2 * wi;
                float v3 = s[s3 + i] + u3 * wi;
                s[s0 + i] = v0;
                s[s1 + i] = v1;
                s[s2 + i] = v2;
                s[s3 + i] = v3;
                t0 += xi * v0;
                t1 += xi * v1;
                t2 += xi * v2;
                t3 += xi * v3;
            }
            out[outOffset + r] = t0;
            out[outOffset + r + 1] = t1;
            out[outOffset + r + 2] = t2;
            out[outOffset + r + 3] = t3;
        }
        for (; r < rows; r++) {
            int so = sOffset + r * cols;
            float ur = u[uOffset + r];
            FloatVector uv = FloatVector.broadcast(SPECIES, ur);
            FloatVector acc = FloatVector.zero(SPECIES);
            int i = 0;
            for (; i + LANES <= cols; i += LANES) {
                FloatVector sv = FloatVector.fromArray(SPECIES, w, wOffset + i)
                        .fma(uv, FloatVector.fromArray(SPECIES, s, so + i));
                sv.intoArray(s, so + i);
                acc = FloatVector.fromArray(SPECIES, x, xOffset + i).fma(sv, acc);
            }
            float sum = sumLanes(acc);
            for (; i < cols; i++) {
                float v = s[so + i] + ur * w[wOffset + i];
                s[so + i] = v;
                sum += x[xOffset + i] * v;
            }
            out[outOffset + r] = sum;
        }
    }

    @Override
    public void updateThenProject(MemorySegment s, long sIndex, int rows, int cols, int stride, float[] u,
            int uOffset, float[] w, int wOffset, float[] x, int xOffset, float[] out, int outOffset) {
        // as the array form, four rows per pass, reading and writing each state element once where it lies
        ByteOrder order = ByteOrder.nativeOrder();
        long rowBytes = (long) stride * Float.BYTES;
        int r = 0;
        for (; r + 3 < rows; r += 4) {
            long s0 = (sIndex + (long) r * stride) * Float.BYTES;
            long s1 = s0 + rowBytes;
            long s2 = s1 + rowBytes;
            long s3 = s2 + rowBytes;
            float u0 = u[uOffset + r];
            float u1 = u[uOffset + r + 1];
            float u2 = u[uOffset + r + 2];
            float u3 = u[uOffset + r + 3];
            FloatVector uv0 = FloatVector.broadcast(SPECIES, u0);
            FloatVector uv1 = FloatVector.broadcast(SPECIES, u1);
            FloatVector uv2 = FloatVector.broadcast(SPECIES, u2);
            FloatVector uv3 = FloatVector.broadcast(SPECIES, u3);
            FloatVector acc0 = FloatVector.zero(SPECIES);
            FloatVector acc1 = acc0;
            FloatVector acc2 = acc0;
            FloatVector acc3 = acc0;
            int i = 0;
            for (; i + LANES <= cols; i += LANES) {
                long o = (long) i * Float.BYTES;
                FloatVector wv = FloatVector.fromArray(SPECIES, w, wOffset + i);
                FloatVector xv = FloatVector.fromArray(SPECIES, x, xOffset + i);
                FloatVector v0 = wv.fma(uv0, FloatVector.fromMemorySegment(SPECIES, s, s0 + o, order));
                v0.intoMemorySegment(s, s0 + o, order);
                acc0 = xv.fma(v0, acc0);
                FloatVector v1 = wv.fma(uv1, FloatVector.fromMemorySegment(SPECIES, s, s1 + o, order));
                v1.intoMemorySegment(s, s1 + o, order);
                acc1 = xv.fma(v1, acc1);
                FloatVector v2 = wv.fma(uv2, FloatVector.fromMemorySegment(SPECIES, s, s2 + o, order));
                v2.intoMemorySegment(s, s2 + o, order);
                acc2 = xv.fma(v2, acc2);
                FloatVector v3 = wv.fma(uv3, FloatVector.fromMemorySegment(SPECIES, s, s3 + o, order));
                v3.intoMemorySegment(s, s3 + o, order);
                acc3 = xv.fma(v3, acc3);
            }
            float t0 = sumLanes(acc0);
            float t1 = sumLanes(acc1);
            float t2 = sumLanes(acc2);
            float t3 = sumLanes(acc3);
            if (i < cols && wOffset + i + LANES <= w.length && xOffset + i + LANES <= x.length) {
                // the last partial vector under a mask, so that a row of 153 is ten vector passes rather than nine
                // and nine scalar steps
                long o = (long) i * Float.BYTES;
                t0 += maskedTail(s, s0 + o, cols - i, w, wOffset + i, x, xOffset + i, u0);
                t1 += maskedTail(s, s1 + o, cols - i, w, wOffset + i, x, xOffset + i, u1);
                t2 += maskedTail(s, s2 + o, cols - i, w, wOffset + i, x, xOffset + i, u2);
                t3 += maskedTail(s, s3 + o, cols - i, w, wOffset + i, x, xOffset + i, u3);
                i = cols;
            }
            for (; i < cols; i++) {
                long o = (long) i * Float.BYTES;
                float wi = w[wOffset + i];
                float xi = x[xOffset + i];
                float v0 = s.get(Mem.F32, s0 + o) + u0 * wi;
                float v1 = s.get(Mem.F32, s1 + o) + u1 * wi;
                float v2 = s.get(Mem.F32, s2 + o) + u2 * wi;
                float v3 = s.get(Mem.F32, s3 + o) + u3 * wi;
                s.set(Mem.F32, s0 + o, v0);
                s.set(Mem.F32, s1 + o, v1);
                s.set(Mem.F32, s2 + o, v2);
                s.set(Mem.F32, s3 + o, v3);
                t0 += xi * v0;
                t1 += xi * v1;
                t2 += xi * v2;
                t3 += xi * v3;
            }
            out[outOffset + r] = t0;
            out[outOffset + r + 1] = t1;
            out[outOffset + r + 2] = t2;
            out[outOffset + r + 3] = t3;
        }
        for (; r < rows; r++) {
            long so = (sIndex + (long) r * stride) * Float.BYTES;
            float ur = u[uOffset + r];
            FloatVector uv = FloatVector.broadcast(SPECIES, ur);
            FloatVector acc = FloatVector.zero(SPECIES);
            int i = 0;
            for (; i + LANES <= cols; i += LANES) {
                long at = so + (long) i * Float.BYTES;
                FloatVector sv = FloatVector.fromArray(SPECIES, w, wOffset + i)
                        .fma(uv, FloatVector.fromMemorySegment(SPECIES, s, at, order));
                sv.intoMemorySegment(s, at, order);
                acc = FloatVector.fromArray(SPECIES, x, xOffset + i).fma(sv, acc);
            }
            float sum = sumLanes(acc);
            if (i < cols && wOffset + i + LANES <= w.length && xOffset + i + LANES <= x.length) {
                sum += maskedTail(s, so + (long) i * Float.BYTES, cols - i, w, wOffset + i, x, xOffset + i, ur);
                i = cols;
            }
            for (; i < cols; i++) {
                long at = so + (long) i * Float.BYTES;
                float v = s.get(Mem.F32, at) + ur * w[wOffset + i];
                s.set(Mem.F32, at, v);
                sum += x[xOffset + i] * v;
            }
            out[outOffset + r] = sum;
        }
    }

    /**
     * The last {@code n < LANES} elements of a state row as one masked vector: {@code s[j] += u·w[j]}, and the
     * read-out {@code Σ x[j]·s[j]} returned. {@code w} and {@code x} are read a whole vector far (the caller checked
     * they reach), their lanes from {@code n} on zeroed; the state is read and written under the mask only.
     */
    private static float maskedTail(MemorySegment s, long at, int n, float[] w, int wOffset, float[] x, int xOffset,
            float u) {
        VectorMask<Float> m = SPECIES.indexInRange(0, n);
        ByteOrder order = ByteOrder.nativeOrder();
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector sv = zero.blend(FloatVector.fromArray(SPECIES, w, wOffset), m)
                .fma(FloatVector.broadcast(SPECIES, u), FloatVector.fromMemorySegment(SPECIES, s, at, order, m));
        sv.intoMemorySegment(s, at, order, m);
        return sumLanes(zero.blend(FloatVector.fromArray(SPECIES, x, xOffset), m).mul(sv));
    }

    @Override
    public float max(float[] x, int offset, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= LANES) {
            FloatVector mv = FloatVector.fromArray(SPECIES, x, offset);
            for (i = LANES; i + LANES <= n; i += LANES) {
                mv = mv.max(FloatVector.fromArray(SPECIES, x, offset + i));
            }
            m = mv.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            m = Math.max(m, x[offset + i]);
        }
        return m;
    }

    @Override
    public float expShifted(float[] x, int offset, int n, float shift) {
        FloatVector sv = FloatVector.broadcast(SPECIES, shift);
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (; i + LANES <= n; i += LANES) {
            FloatVector e = VectorExp.exp(FloatVector.fromArray(SPECIES, x, offset + i).sub(sv));
            e.intoArray(x, offset + i);
            acc = acc.add(e);
        }
        float sum = sumLanes(acc);
        for (; i < n; i++) {
            float e = (float) Math.exp(x[offset + i] - shift);
            x[offset + i] = e;
            sum += e;
        }
        return sum;
    }

    @Override
    public void taylor(float[] x, int xOffset, int f, float linearScale, float quadraticScale, float[] out,
            int outOffset) {
        out[outOffset] = 1f;
        for (int i = 0; i < f; i++) {
            out[outOffset + 1 + i] = x[xOffset + i] * linearScale;
        }
        int base = outOffset + 1 + f;
        int vectorEnd = f - f % LANES;
        for (int i = 0; i < f; i++) {
            float xi = x[xOffset + i] * quadraticScale;
            int o = base + i * f;
            FloatVector xv = FloatVector.broadcast(SPECIES, xi);
            int j = 0;
            for (; j < vectorEnd; j += LANES) {
                FloatVector.fromArray(SPECIES, x, xOffset + j).mul(xv).intoArray(out, o + j);
            }
            for (; j < f; j++) {
                out[o + j] = xi * x[xOffset + j];
            }
        }
    }

    /**
     * The sum of the lanes, as a fixed tree: each step adds the vector to itself with the halves swapped (lane
     * {@code i} plus lane {@code i ^ step}). {@code reduceLanes(ADD)} leaves the order to the implementation, and the
     * C2 intrinsic adds in another order than the interpreter's Java fallback: the same call then gives other bits
     * before and after the JIT compiles it, so results would differ between a cold and a warm run, or between
     * threads at different points of their warm-up. The explicit tree is the same arithmetic in both.
     */
    static float sumLanes(FloatVector v) {
        if (LANES >= 16) {
            v = v.add(v.rearrange(SWAP_8));
        }
        if (LANES >= 8) {
            v = v.add(v.rearrange(SWAP_4));
        }
        v = v.add(v.rearrange(SWAP_2));
        v = v.add(v.rearrange(SWAP_1));
        return v.lane(0);
    }

    /** The shuffles {@code i → i ^ step} of {@link #sumLanes}: constants, so each rearrange is one instruction. */
    private static final VectorShuffle<Float> SWAP_8 = LANES >= 16 ? swap(8) : null;
    private static final VectorShuffle<Float> SWAP_4 = LANES >= 8 ? swap(4) : null;
    private static final VectorShuffle<Float> SWAP_2 = swap(2);
    private static final VectorShuffle<Float> SWAP_1 = swap(1);

    private static VectorShuffle<Float> swap(int step) {
        return VectorShuffle.fromOp(SPECIES, i -> i ^ step);
    }
}
