package dev.based4j.cpu.kernels;

/**
 * {@link F32Kernels} in plain Java loops. Loops that update an array element by element ({@code axpy} and what
 * is built on it) are written so that C2 auto-vectorises them; reductions use four independent accumulators so
 * that they are not bound by the latency of one addition chain. Always available: the fallback of every other
 * implementation.
 */
public final class PlainF32Kernels implements F32Kernels {
    /** Output columns per transposed panel of {@link #matmulTransposed}: one row of results stays in L1. */
    private static final int PANEL = 64;

    private static final ThreadLocal<float[]> PANEL_BUFFER = ThreadLocal.withInitial(() -> new float[0]);

    /** Creates the plain implementation; stateless apart from per-thread scratch. */
    public PlainF32Kernels() {}

    @Override
    public String name() {
        return "plain";
    }

    @Override
    public float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        int i = 0;
        for (; i + 3 < n; i += 4) {
            s0 += a[aOffset + i] * b[bOffset + i];
            s1 += a[aOffset + i + 1] * b[bOffset + i + 1];
            s2 += a[aOffset + i + 2] * b[bOffset + i + 2];
            s3 += a[aOffset + i + 3] * b[bOffset + i + 3];
        }
        for (; i < n; i++) {
            s0 += a[aOffset + i] * b[bOffset + i];
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
    public void multiplyAdd(float[] a, int aOffset, float[] b, int bOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] += a[aOffset + i] * b[bOffset + i];
        }
    }

    @Override
    public void matmul(float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c, int cOffset,
            int ldc, int rows, int depth, int cols, boolean accumulate) {
        // row of c += a[r,i] · row i of b: the inner loop is an axpy over contiguous columns
        for (int r = 0; r < rows; r++) {
            int co = cOffset + r * ldc;
            if (!accumulate) {
                java.util.Arrays.fill(c, co, co + cols, 0f);
            }
            int ao = aOffset + r * lda;
            for (int i = 0; i < depth; i++) {
                axpy(a[ao + i], b, bOffset + i * ldb, c, co, cols);
            }
        }
    }

    @Override
    public void matmulTransposed(float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c,
            int cOffset, int ldc, int rows, int depth, int cols, boolean accumulate) {
        if (rows < 4 || cols < 8) {
            // few rows: one dot product per result, reading b once
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
        // many rows: transpose a panel of b once so the inner loop becomes an axpy over PANEL columns
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
        for (int r = 0; r < rows; r++) {
            int so = sOffset + r * cols;
            axpy(u[uOffset + r], w, wOffset, s, so, cols);
            out[outOffset + r] = dot(x, xOffset, s, so, cols);
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
