package dev.based4j.benchmarks;

import dev.based4j.attention.BaseConvSpec;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.BasedAttentionLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;

/**
 * Floating-point operations of each kernel, counted the same way for every implementation so that GFLOP/s compare
 * across backends and with other code: a multiply-add is 2 FLOPs, and the Taylor feature map is counted at its
 * canonical width {@code D = 1 + f + f²} (273 for {@code f = 16}), even when an implementation works in the
 * symmetric 153-wide layout or scores pairs with the closed form {@code 1 + s + s²/2}. Exponentials, divisions and
 * the feature map itself are not counted (they are O(D) per token, below 1 % here).
 *
 * <p>Per head, with value width {@code dv}:
 * <ul>
 *   <li>a linear-attention state update or read-out: {@code 2·D·(dv+1)} (the {@code dv×D} state and the
 *       {@code D} normaliser);
 *   <li>a query-key pair inside a chunk or the quadratic form: {@code 2·(D + dv)} (score, weighted value);
 *   <li>a softmax query-key pair: {@code 2·(dk + dv)}.
 * </ul>
 */
public final class Flops {
    private Flops() {}

    /** @return {@code 1 + f + f²}, the canonical Taylor width */
    public static long taylorDim(int f) {
        return 1L + f + (long) f * f;
    }

    /** One token's decode step of linear attention: update, then read-out, per head. */
    public static double linearDecode(int batch, int heads, int f, int dv) {
        return (double) batch * heads * 4.0 * taylorDim(f) * (dv + 1);
    }

    /**
     * Chunked prefill of {@code seq} tokens from an empty state: per chunk of {@code c} tokens, the read-out of the
     * carried state ({@code c} rows), {@code c(c+1)/2} pairs inside the chunk and the state update.
     */
    public static double linearChunked(int batch, int heads, int seq, int f, int dv, int chunk) {
        long d = taylorDim(f);
        double total = 0;
        for (int start = 0; start < seq; start += chunk) {
            long c = Math.min(chunk, seq - start);
            total += 4.0 * c * d * (dv + 1) + c * (c + 1) / 2.0 * 2.0 * (d + dv);
        }
        return (double) batch * heads * total;
    }

    /** Quadratic prefill of {@code seq} tokens: {@code seq(seq+1)/2} pairs and the final state. */
    public static double linearQuadratic(int batch, int heads, int seq, int f, int dv) {
        long d = taylorDim(f);
        return (double) batch * heads * ((double) seq * (seq + 1) / 2.0 * 2.0 * (d + dv) + 2.0 * seq * d * (dv + 1));
    }

    /** Softmax attention of {@code seq} tokens after {@code before} earlier ones, window {@code lookback}. */
    public static double window(int batch, int heads, long before, int seq, int dk, int dv, long lookback) {
        double pairs = 0;
        for (long p = before; p < before + seq; p++) {
            pairs += Math.min(lookback, p) + 1;
        }
        return (double) batch * heads * pairs * 2.0 * (dk + dv);
    }

    /**
     * The fused linear-plus-window layer, {@code seq} tokens after {@code before}: the window's pairs (in
     * {@code f} dimensions) plus, per token, the linear part as an update and a read-out.
     */
    public static double fused(int batch, int heads, long before, int seq, int f, int dv, int lookback) {
        return window(batch, heads, before, seq, f, dv, lookback)
                + (double) seq * linearDecode(batch, heads, f, dv);
    }

    /** {@code x [rows, in] · Wᵀ [in, out]}. */
    public static double linear(long rows, int in, int out) {
        return 2.0 * rows * in * out;
    }

    /** Causal depthwise convolution of {@code tokens} over {@code channels} with kernel {@code k}. */
    public static double conv(long tokens, int channels, int k) {
        return 2.0 * tokens * channels * k;
    }

    /**
     * A layer stack on {@code seq} tokens per sequence after {@code before} earlier ones: every projection, MLP
     * and mixer, the chunked form for linear attention (chunk {@code chunk}) or its decode step when
     * {@code seq = 1}; the head ({@code 2·D·vocab} per token) when {@code withHead}.
     */
    public static double stack(LayerStack.Config config, int batch, long before, int seq, int chunk, boolean withHead) {
        int d = config.modelDim();
        long tokens = (long) batch * seq;
        double total = 0;
        for (MixerConfig m : config.mixers()) {
            total += mixer(m, batch, before, seq, chunk);
            if (config.mlp() != null) {
                int h = config.mlp().hidden();
                total += linear(tokens, d, 2 * h) + linear(tokens, h, d);
            }
        }
        if (withHead && config.vocabSize() > 0) {
            total += linear(tokens, d, config.vocabSize());
        }
        return total;
    }

    private static double mixer(MixerConfig m, int batch, long before, int seq, int chunk) {
        long tokens = (long) batch * seq;
        return switch (m) {
            case LinearAttentionLayer.Config la -> {
                int f = la.spec().featureDim();
                int hv = la.heads() * la.headDim();
                double projections = linear(tokens, la.modelDim(), 2 * la.heads() * f + hv) + linear(tokens, hv,
                        la.modelDim());
                double attention = seq == 1
                        ? linearDecode(batch, la.heads(), f, la.headDim())
                        : linearChunked(batch, la.heads(), seq, f, la.headDim(), chunk);
                yield projections + attention;
            }
            case SlidingWindowLayer.Config sw -> {
                int hd = sw.headDim();
                yield linear(tokens, sw.modelDim(), 3 * sw.modelDim()) + linear(tokens, sw.modelDim(), sw.modelDim())
                        + window(batch, sw.heads(), before, seq, hd, hd, sw.window().lookback());
            }
            case BaseConvLayer.Config c -> {
                BaseConvSpec s = c.spec();
                yield linear(tokens, s.modelDim(), 2 * s.innerDim()) + linear(tokens, s.innerDim(), s.modelDim())
                        + conv(tokens, s.innerDim(), s.kernelSize());
            }
            case BasedAttentionLayer.Config ba -> {
                int f = ba.spec().featureMap().inputDim();
                int hv = ba.heads() * ba.headDim();
                yield linear(tokens, ba.modelDim(), 2 * ba.heads() * f + hv) + linear(tokens, hv, ba.modelDim())
                        + fused(batch, ba.heads(), before, seq, f, ba.headDim(), ba.spec().lookback());
            }
            default -> throw new IllegalArgumentException("config: no FLOP count for mixer " + m);
        };
    }
}
