package dev.based4j.reference;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;

/**
 * Float64 reference kernels. Every method is a direct transcription of the spec's formula, written for
 * clarity, not speed. States are updated in place with the same semantics as the backend kernels.
 */
public final class Reference {
    private Reference() {}

    /**
     * φ over the last dimension.
     *
     * @param x {@code [rows, seq, d]} where rows is everything before seq (batch·heads)
     * @return {@code [rows, seq, outputDim]}
     */
    public static double[] featureMap(FeatureMap map, double[] x, int rows, int seq) {
        int d = map.inputDim();
        int e = map.outputDim();
        double[] out = new double[rows * seq * e];
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < seq; t++) {
                map.apply(x, (r * seq + t) * d, t, seq, out, (r * seq + t) * e);
            }
        }
        return out;
    }

    /**
     * Causal linear attention continuing from a state ({@code based-math.md} b):
     * {@code y_n = (φ(q_n)·S0 + Σ_{m≤n} (φ(q_n)·φ(k_m)) v_m) / (φ(q_n)·z0 + Σ_{m≤n} φ(q_n)·φ(k_m) + eps)}.
     *
     * @param q {@code [batch, heads, seq, f]}
     * @param k {@code [batch, heads, seq, f]}
     * @param v {@code [batch, heads, seq, dv]}
     * @param kv state {@code [batch, heads, dv, D]}, updated to include the new tokens
     * @param z state {@code [batch, heads, D]}, updated likewise
     * @param position tokens already in the state (CosFormer needs a fresh call; its length is {@code seq})
     * @return y {@code [batch, heads, seq, dv]}
     */
    public static double[] linearAttention(LinearAttentionSpec spec, double[] q, double[] k, double[] v, int batch,
            int heads, int seq, int valueDim, double[] kv, double[] z) {
        FeatureMap map = spec.featureMap();
        int f = map.inputDim();
        int e = map.outputDim();
        int dv = valueDim;
        double[] y = new double[batch * heads * seq * dv];
        double[] phiQ = new double[e];
        double[] phiK = new double[seq * e];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int m = 0; m < seq; m++) {
                map.apply(k, (bh * seq + m) * f, m, seq, phiK, m * e);
            }
            for (int n = 0; n < seq; n++) {
                map.apply(q, (bh * seq + n) * f, n, seq, phiQ, 0);
                double den = 0;
                double[] num = new double[dv];
                // carried state: everything before this call
                for (int d = 0; d < e; d++) {
                    den += phiQ[d] * z[bh * e + d];
                }
                for (int c = 0; c < dv; c++) {
                    double s = 0;
                    for (int d = 0; d < e; d++) {
                        s += phiQ[d] * kv[(bh * dv + c) * e + d];
                    }
                    num[c] = s;
                }
                // the quadratic form over this call, diagonal included
                for (int m = 0; m <= n; m++) {
                    double a = dot(phiQ, 0, phiK, m * e, e);
                    den += a;
                    for (int c = 0; c < dv; c++) {
                        num[c] += a * v[(bh * seq + m) * dv + c];
                    }
                }
                den += spec.eps();
                for (int c = 0; c < dv; c++) {
                    y[(bh * seq + n) * dv + c] = num[c] / den;
                }
            }
            for (int m = 0; m < seq; m++) {
                for (int d = 0; d < e; d++) {
                    double pk = phiK[m * e + d];
                    z[bh * e + d] += pk;
                    for (int c = 0; c < dv; c++) {
                        kv[(bh * dv + c) * e + d] += v[(bh * seq + m) * dv + c] * pk;
                    }
                }
            }
        }
        return y;
    }

    /**
     * Sliding-window softmax attention continuing from a ring buffer ({@code sdk-conventions.md}): query at
     * absolute position {@code p} sees keys at positions {@code max(0, p-lookback) .. p}.
     *
     * @param ringK {@code [batch, heads, capacity, dk]}: position {@code p} in slot {@code p mod capacity};
     *     updated with the new keys
     * @param ringV {@code [batch, heads, capacity, dv]}, likewise
     * @param position tokens seen before this call
     * @return y {@code [batch, heads, seq, dv]}
     */
    public static double[] slidingWindow(SlidingWindowSpec spec, double[] q, double[] k, double[] v, int batch,
            int heads, int seq, int keyDim, int valueDim, double[] ringK, double[] ringV, int capacity, long position) {
        double scale = spec.scaleFor(keyDim);
        int dk = keyDim;
        int dv = valueDim;
        long lookback = spec.lookback();
        double[] y = new double[batch * heads * seq * dv];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int n = 0; n < seq; n++) {
                long p = position + n;
                // write this token first: it is in its own window
                int slot = (int) (p % capacity);
                System.arraycopy(k, (bh * seq + n) * dk, ringK, (bh * capacity + slot) * dk, dk);
                System.arraycopy(v, (bh * seq + n) * dv, ringV, (bh * capacity + slot) * dv, dv);
                long first = Math.max(0, p - lookback);
                double max = Double.NEGATIVE_INFINITY;
                for (long m = first; m <= p; m++) {
                    int s = (int) (m % capacity);
                    max = Math.max(max, scale * dot(q, (bh * seq + n) * dk, ringK, (bh * capacity + s) * dk, dk));
                }
                double den = 0;
                double[] num = new double[dv];
                for (long m = first; m <= p; m++) {
                    int s = (int) (m % capacity);
                    double w = Math.exp(scale * dot(q, (bh * seq + n) * dk, ringK, (bh * capacity + s) * dk, dk) - max);
                    den += w;
                    for (int c = 0; c < dv; c++) {
                        num[c] += w * ringV[(bh * capacity + s) * dv + c];
                    }
                }
                for (int c = 0; c < dv; c++) {
                    y[(bh * seq + n) * dv + c] = num[c] / den;
                }
            }
        }
        return y;
    }

    /**
     * The fused linear-plus-window layer continuing from its state ({@code sdk-conventions.md}). Token by token:
     * append (k, v) to the ring; if the ring held {@code lookback + 1} tokens already, the oldest leaves it and
     * enters the linear state; then
     * {@code y = (Σ_near exp(s - c) v + e^{-c} (φ(q)·S)) / (Σ_near exp(s - c) + e^{-c} (φ(q)·z + eps))} with
     * {@code c = max_near s}, which is the definition multiplied through by {@code e^{-c}}.
     *
     * @param kv far state {@code [batch, heads, dv, D]}, updated
     * @param z far state {@code [batch, heads, D]}, updated
     * @param ringK raw keys {@code [batch, heads, lookback+1, f]}, updated
     * @param ringV values {@code [batch, heads, lookback+1, dv]}, updated
     * @param position tokens seen before this call
     * @return y {@code [batch, heads, seq, dv]}
     */
    public static double[] basedAttention(BasedAttentionSpec spec, double[] q, double[] k, double[] v, int batch,
            int heads, int seq, int valueDim, double[] kv, double[] z, double[] ringK, double[] ringV, long position) {
        FeatureMap map = spec.featureMap();
        int f = map.inputDim();
        int e = map.outputDim();
        int dv = valueDim;
        int cap = spec.lookback() + 1;
        double scale = spec.effectiveScale();
        double[] y = new double[batch * heads * seq * dv];
        double[] phi = new double[e];
        double[] key = new double[f];
        for (int bh = 0; bh < batch * heads; bh++) {
            for (int n = 0; n < seq; n++) {
                long p = position + n;
                int slot = (int) (p % cap);
                if (p >= cap) {
                    // token p - cap leaves the window and enters the linear state
                    System.arraycopy(ringK, (bh * cap + slot) * f, key, 0, f);
                    map.apply(key, 0, 0, 1, phi, 0);
                    for (int d = 0; d < e; d++) {
                        z[bh * e + d] += phi[d];
                        for (int c = 0; c < dv; c++) {
                            kv[(bh * dv + c) * e + d] += ringV[(bh * cap + slot) * dv + c] * phi[d];
                        }
                    }
                }
                System.arraycopy(k, (bh * seq + n) * f, ringK, (bh * cap + slot) * f, f);
                System.arraycopy(v, (bh * seq + n) * dv, ringV, (bh * cap + slot) * dv, dv);
                long first = Math.max(0, p - spec.lookback());
                int qo = (bh * seq + n) * f;
                double c0 = Double.NEGATIVE_INFINITY;
                for (long m = first; m <= p; m++) {
                    c0 = Math.max(c0, scale * dot(q, qo, ringK, (bh * cap + (int) (m % cap)) * f, f));
                }
                double den = 0;
                double[] num = new double[dv];
                for (long m = first; m <= p; m++) {
                    int s = (int) (m % cap);
                    double w = Math.exp(scale * dot(q, qo, ringK, (bh * cap + s) * f, f) - c0);
                    den += w;
                    for (int c = 0; c < dv; c++) {
                        num[c] += w * ringV[(bh * cap + s) * dv + c];
                    }
                }
                map.apply(q, qo, 0, 1, phi, 0);
                double shrink = Math.exp(-c0);
                double farDen = 0;
                for (int d = 0; d < e; d++) {
                    farDen += phi[d] * z[bh * e + d];
                }
                den += shrink * (farDen + spec.eps());
                for (int c = 0; c < dv; c++) {
                    double s = 0;
                    for (int d = 0; d < e; d++) {
                        s += phi[d] * kv[(bh * dv + c) * e + d];
                    }
                    y[(bh * seq + n) * dv + c] = (num[c] + shrink * s) / den;
                }
            }
        }
        return y;
    }

    /**
     * Causal depthwise convolution with a shift-register state ({@code based-math.md} d).
     *
     * @param x {@code [batch, seq, channels]}
     * @param weight {@code [channels, kernel]}; the last tap multiplies the current token
     * @param window state {@code [batch, channels, kernel]}, the last {@code kernel} inputs oldest first; updated
     * @return {@code [batch, seq, channels]}
     */
    public static double[] causalConv(double[] x, int batch, int seq, int channels, double[] weight, int kernel,
            double[] window) {
        double[] out = new double[batch * seq * channels];
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < channels; c++) {
                int w0 = (b * channels + c) * kernel;
                for (int t = 0; t < seq; t++) {
                    // shift left, append the current input, then take the dot product with the taps
                    System.arraycopy(window, w0 + 1, window, w0, kernel - 1);
                    window[w0 + kernel - 1] = x[(b * seq + t) * channels + c];
                    double s = 0;
                    for (int j = 0; j < kernel; j++) {
                        s += weight[c * kernel + j] * window[w0 + j];
                    }
                    out[(b * seq + t) * channels + c] = s;
                }
            }
        }
        return out;
    }

    /** {@code y = x Wᵀ + b}: x {@code [rows, in]}, w {@code [out, in]}, bias {@code [out]} or null. */
    public static double[] linear(double[] x, int rows, int in, double[] w, int outDim, double[] bias) {
        double[] y = new double[rows * outDim];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < outDim; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    s += x[r * in + i] * w[o * in + i];
                }
                y[r * outDim + o] = s;
            }
        }
        return y;
    }

    /** RMSNorm over the last dimension: {@code x / sqrt(mean(x²) + eps) · w}. */
    public static double[] rmsNorm(double[] x, int rows, int d, double[] w, double eps) {
        double[] y = new double[rows * d];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < d; i++) {
                ss += x[r * d + i] * x[r * d + i];
            }
            double inv = 1.0 / Math.sqrt(ss / d + eps);
            for (int i = 0; i < d; i++) {
                y[r * d + i] = x[r * d + i] * inv * w[i];
            }
        }
        return y;
    }

    /** {@code x·sigmoid(x)}. */
    public static double[] silu(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] / (1 + Math.exp(-x[i]));
        }
        return y;
    }

    /** Exact GELU, {@code x·Φ(x) = x/2·(1 + erf(x/√2))}. */
    public static double[] gelu(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = 0.5 * x[i] * (1 + erf(x[i] / Math.sqrt(2)));
        }
        return y;
    }

    /** Rotary embedding, rotate-halves, on {@code x [rows, seq, d]}; token t at position {@code start + t}. */
    public static double[] rotary(double[] x, int rows, int seq, int d, long start, int rotaryDim, double base) {
        double[] y = x.clone();
        int half = rotaryDim / 2;
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < seq; t++) {
                int o = (r * seq + t) * d;
                double pos = start + t;
                for (int i = 0; i < half; i++) {
                    double theta = pos * Math.pow(base, -2.0 * i / rotaryDim);
                    double a = x[o + i];
                    double b = x[o + i + half];
                    y[o + i] = a * Math.cos(theta) - b * Math.sin(theta);
                    y[o + i + half] = a * Math.sin(theta) + b * Math.cos(theta);
                }
            }
        }
        return y;
    }

    /** {@code [batch, seq, heads·d] → [batch, heads, seq, d]}. */
    public static double[] splitHeads(double[] x, int batch, int seq, int heads, int d) {
        double[] y = new double[x.length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                for (int h = 0; h < heads; h++) {
                    System.arraycopy(x, ((b * seq + t) * heads + h) * d, y, ((b * heads + h) * seq + t) * d, d);
                }
            }
        }
        return y;
    }

    /** {@code [batch, heads, seq, d] → [batch, seq, heads·d]}. */
    public static double[] mergeHeads(double[] x, int batch, int heads, int seq, int d) {
        double[] y = new double[x.length];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int t = 0; t < seq; t++) {
                    System.arraycopy(x, ((b * heads + h) * seq + t) * d, y, ((b * seq + t) * heads + h) * d, d);
                }
            }
        }
        return y;
    }

    /** Columns {@code [from, from + width)} of {@code x [rows, n]}. */
    public static double[] slice(double[] x, int rows, int n, int from, int width) {
        double[] y = new double[rows * width];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(x, r * n + from, y, r * width, width);
        }
        return y;
    }

    /** Rows {@code ids} of {@code table [vocab, d]}. */
    public static double[] embedding(double[] table, int d, int[] ids) {
        double[] y = new double[ids.length * d];
        for (int i = 0; i < ids.length; i++) {
            System.arraycopy(table, ids[i] * d, y, i * d, d);
        }
        return y;
    }

    static double dot(double[] a, int ao, double[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /** erf to about 1e-16 relative: series for |x| &lt; 3, continued fraction beyond. */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 3.0) {
            // Maclaurin series erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax;
            double sum = ax;
            double x2 = ax * ax;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            r = 2.0 / Math.sqrt(Math.PI) * sum;
        } else {
            // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz-free backward evaluation)
            double cf = 0;
            for (int n = 60; n >= 1; n--) {
                cf = (n / 2.0) / (ax + cf);
            }
            r = 1.0 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + cf);
        }
        return x < 0 ? -r : r;
    }
}
