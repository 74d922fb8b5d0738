package dev.based4j.cpu.kernels;

import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * {@link F32Kernels} in plain Java loops. Loops that update an array element by element ({@code axpy} and what
 * is built on it) are written so that C2 can auto-vectorise them; reductions use independent accumulators so
 * that they are not bound by the latency of one addition chain, and the matrix products work on small tiles so
 * that each value loaded serves several products. Always available: the fallback of every other
 * implementation.
 */
public final class PlainF32Kernels implements F32Kernels {
    /** Creates the plain implementation; stateless apart from per-thread scratch. */
    public PlainF32Kernels() {}

    @Override
    public String name() {
        return "plain";
    }

    @Override
    public String toString() {
        return name();
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        float s4 = 0;
        float s5 = 0;
        float s6 = 0;
        float s7 = 0;
        int i = 0;
        for (; i + 7 < n; i += 8) {
            int ai = aOffset + i;
            int bi = bOffset + i;
            s0 += a[ai] * b[bi];
            s1 += a[ai + 1] * b[bi + 1];
            s2 += a[ai + 2] * b[bi + 2];
            s3 += a[ai + 3] * b[bi + 3];
            s4 += a[ai + 4] * b[bi + 4];
            s5 += a[ai + 5] * b[bi + 5];
            s6 += a[ai + 6] * b[bi + 6];
            s7 += a[ai + 7] * b[bi + 7];
        }
        for (; i < n; i++) {
            s0 += a[aOffset + i] * b[bOffset + i];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    @Override
    public float dot(float[] a, int aOffset, MemorySegment b, long bIndex, int n) {
        long bo = bIndex * Float.BYTES;
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            long at = bo + (long) i * Float.BYTES;
            s0 += a[aOffset + i] * b.get(Mem.F32, at);
            s1 += a[aOffset + i + 1] * b.get(Mem.F32, at + 4);
            s2 += a[aOffset + i + 2] * b.get(Mem.F32, at + 8);
            s3 += a[aOffset + i + 3] * b.get(Mem.F32, at + 12);
        }
        for (; i < n; i++) {
            s0 += a[aOffset + i] * b.get(Mem.F32, bo + (long) i * Float.BYTES);
        }
        return (s0 + s1) + (s2 + s3);
    }

    @Override
    public void axpy(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] += alpha * x[xOffset + i];
        }
    }

    @Override
    public void dotRows(float[] x, int xOffset, MemorySegment w, long wIndex, long ldw, int rows, int n, float[] out,
            int outOffset) {
        for (int r = 0; r < rows; r++) {
            out[outOffset + r] = dot(x, xOffset, w, wIndex + r * ldw, n);
        }
    }

    @Override
    public void dotTile(float[] x, int xOffset, int ldx, int xRows, MemorySegment w, long wIndex, long ldw, int wRows,
            int n, float[] out, int outOffset, int ldo) {
        for (int r = 0; r < xRows; r++) {
            dotRows(x, xOffset + r * ldx, w, wIndex, ldw, wRows, n, out, outOffset + r * ldo);
        }
    }

    @Override
    public void dotReducedRows(DType type, float[] x, int xOffset, MemorySegment w, long row0, int rows, int n,
            float[] scales, int groupSize, float[] out, int outOffset) {
        ReducedWeights.dotRows(type, x, xOffset, w, row0, rows, n, scales, groupSize, out, outOffset);
    }

    @Override
    public void widenRows(DType type, MemorySegment w, long row0, int rows, int n, float[] scales, int groupSize,
            float[] dst, int dstOffset) {
        ReducedWeights.widenRows(type, w, row0, rows, n, scales, groupSize, dst, dstOffset);
    }

    @Override
    public void accumulateRows(float[] p, int pOffset, MemorySegment v, long vIndex, int rows, int n, float[] y,
            int yOffset) {
        for (int r = 0; r < rows; r++) {
            float pr = p[pOffset + r];
            long row = (vIndex + (long) r * n) * Float.BYTES;
            for (int i = 0; i < n; i++) {
                y[yOffset + i] += pr * v.get(Mem.F32, row + (long) i * Float.BYTES);
            }
        }
    }

    @Override
    public void silu(float[] x, int offset, int n) {
        for (int i = 0; i < n; i++) {
            float v = x[offset + i];
            x[offset + i] = (float) (v / (1.0 + Math.exp(-v)));
        }
    }

    @Override
    public void scale(float alpha, float[] x, int xOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] = alpha * x[xOffset + i];
        }
    }

    @Override
    public void multiply(float[] a, int aOffset, float[] b, int bOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] = a[aOffset + i] * b[bOffset + i];
        }
    }

    @Override
    public void multiplyAdd(float[] a, int aOffset, float[] b, int bOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
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
        // four rows of c at a time share each row of b they read; the inner loop runs over contiguous columns
        int r = 0;
        for (; r + 3 < rows; r += 4) {
            int c0 = cOffset + r * ldc;
            int c1 = c0 + ldc;
            int c2 = c1 + ldc;
            int c3 = c2 + ldc;
            int a0 = aOffset + r * lda;
            for (int i = 0; i < depth; i++) {
                float x0 = a[a0 + i];
                float x1 = a[a0 + lda + i];
                float x2 = a[a0 + 2 * lda + i];
                float x3 = a[a0 + 3 * lda + i];
                int bo = bOffset + i * ldb;
                for (int j = 0; j < cols; j++) {
                    float bj = b[bo + j];
                    c[c0 + j] += x0 * bj;
                    c[c1 + j] += x1 * bj;
                    c[c2 + j] += x2 * bj;
                    c[c3 + j] += x3 * bj;
                }
            }
        }
        for (; r < rows; r++) {
            int co = cOffset + r * ldc;
            int ao = aOffset + r * lda;
            for (int i = 0; i < depth; i++) {
                axpy(a[ao + i], b, bOffset + i * ldb, c, co, cols);
            }
        }
    }

    @Override
    public void matmulTransposed(float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c,
            int cOffset, int ldc, int rows, int depth, int cols, boolean accumulate) {
        // 4×4 tiles of c held in sixteen scalar accumulators: each loaded value of a and b serves four products
        int rowTiles = rows & ~3;
        int colTiles = cols & ~3;
        for (int r = 0; r < rowTiles; r += 4) {
            int a0 = aOffset + r * lda;
            int a1 = a0 + lda;
            int a2 = a1 + lda;
            int a3 = a2 + lda;
            for (int j = 0; j < colTiles; j += 4) {
                int b0 = bOffset + j * ldb;
                int b1 = b0 + ldb;
                int b2 = b1 + ldb;
                int b3 = b2 + ldb;
                float s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
                float s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
                for (int k = 0; k < depth; k++) {
                    float x0 = a[a0 + k];
                    float x1 = a[a1 + k];
                    float x2 = a[a2 + k];
                    float x3 = a[a3 + k];
                    float y0 = b[b0 + k];
                    float y1 = b[b1 + k];
                    float y2 = b[b2 + k];
                    float y3 = b[b3 + k];
                    s00 += x0 * y0;
                    s01 += x0 * y1;
                    s02 += x0 * y2;
                    s03 += x0 * y3;
                    s10 += x1 * y0;
                    s11 += x1 * y1;
                    s12 += x1 * y2;
                    s13 += x1 * y3;
                    s20 += x2 * y0;
                    s21 += x2 * y1;
                    s22 += x2 * y2;
                    s23 += x2 * y3;
                    s30 += x3 * y0;
                    s31 += x3 * y1;
                    s32 += x3 * y2;
                    s33 += x3 * y3;
                }
                int c0 = cOffset + r * ldc + j;
                store(c, c0, s00, s01, s02, s03, accumulate);
                store(c, c0 + ldc, s10, s11, s12, s13, accumulate);
                store(c, c0 + 2 * ldc, s20, s21, s22, s23, accumulate);
                store(c, c0 + 3 * ldc, s30, s31, s32, s33, accumulate);
            }
        }
        // the edges: one dot product per result
        for (int r = 0; r < rows; r++) {
            int ao = aOffset + r * lda;
            int co = cOffset + r * ldc;
            for (int j = r < rowTiles ? colTiles : 0; j < cols; j++) {
                float d = dot(a, ao, b, bOffset + j * ldb, depth);
                c[co + j] = accumulate ? c[co + j] + d : d;
            }
        }
    }

    private static void store(float[] c, int o, float v0, float v1, float v2, float v3, boolean accumulate) {
        if (accumulate) {
            c[o] += v0;
            c[o + 1] += v1;
            c[o + 2] += v2;
            c[o + 3] += v3;
        } else {
            c[o] = v0;
            c[o + 1] = v1;
            c[o + 2] = v2;
            c[o + 3] = v3;
        }
    }

    @Override
    public void updateThenProject(float[] s, int sOffset, int rows, int cols, float[] u, int uOffset, float[] w,
            int wOffset, float[] x, int xOffset, float[] out, int outOffset) {
        for (int r = 0; r < rows; r++) {
            int so = sOffset + r * cols;
            axpy(u[uOffset + r], w, wOffset, s, so, cols);
            out[outOffset + r] = dot(x, xOffset, s, so, cols);
        }
    }

    @Override
    public void updateThenProject(MemorySegment s, long sIndex, int rows, int cols, int stride, float[] u,
            int uOffset, float[] w, int wOffset, float[] x, int xOffset, float[] out, int outOffset) {
        for (int r = 0; r < rows; r++) {
            long so = (sIndex + (long) r * stride) * Float.BYTES;
            float ur = u[uOffset + r];
            float sum = 0;
            for (int i = 0; i < cols; i++) {
                long at = so + (long) i * Float.BYTES;
                float v = s.get(Mem.F32, at) + ur * w[wOffset + i];
                s.set(Mem.F32, at, v);
                sum += x[xOffset + i] * v;
            }
            out[outOffset + r] = sum;
        }
    }

    @Override
    public float max(float[] x, int offset, int n) {
        float m = x[offset];
        for (int i = 1; i < n; i++) {
            m = Math.max(m, x[offset + i]);
        }
        return m;
    }

    @Override
    public float expShifted(float[] x, int offset, int n, float shift) {
        float sum = 0;
        for (int i = 0; i < n; i++) {
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
        for (int i = 0; i < f; i++) {
            float xi = x[xOffset + i] * quadraticScale;
            int o = base + i * f;
            for (int j = 0; j < f; j++) {
                out[o + j] = xi * x[xOffset + j];
            }
        }
    }
}
