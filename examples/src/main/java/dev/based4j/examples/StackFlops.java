package dev.based4j.examples;

import dev.based4j.attention.BaseConvSpec;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.BasedAttentionLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;

/**
 * Floating-point operations of a layer stack, counted as the JMH benchmarks count them (module
 * {@code benchmarks}, class {@code Flops}): a multiply-add is 2 FLOPs; the Taylor map at its canonical width
 * {@code D = 1 + f + f²} (273 for {@code f = 16}) whatever layout an implementation uses; linear-attention prefill
 * in the chunked form ({@value #CHUNK}-token chunks: read-out and update of the {@code dv×D} state per token, the
 * pairs inside a chunk), decode as one update and one read-out; softmax attention as {@code 2·(dk + dv)} per
 * query-key pair it evaluates; every projection and MLP product as {@code 2·in·out} per token.
 */
final class StackFlops {
    /** Chunk length the count assumes for linear-attention prefill. */
    static final int CHUNK = 64;

    private StackFlops() {}

    /** @return FLOPs of {@code seq} tokens per sequence after {@code before} earlier ones (decode when seq = 1) */
    static double of(LayerStack.Config config, int batch, long before, int seq) {
        int d = config.modelDim();
        double tokens = (double) batch * seq;
        double total = 0;
        for (MixerConfig m : config.mixers()) {
            total += mixer(m, batch, before, seq);
            if (config.mlp() != null) {
                total += linear(tokens, d, 2 * config.mlp().hidden()) + linear(tokens, config.mlp().hidden(), d);
            }
        }
        return total;
    }

    private static double linear(double tokens, int in, int out) {
        return 2.0 * tokens * in * out;
    }

    private static double taylorDim(int f) {
        return 1.0 + f + (double) f * f;
    }

    private static double linearAttention(int batch, int heads, int seq, int f, int dv) {
        double d = taylorDim(f);
        if (seq == 1) {
            return (double) batch * heads * 4.0 * d * (dv + 1);
        }
        double total = 0;
        for (int start = 0; start < seq; start += CHUNK) {
            double c = Math.min(CHUNK, seq - start);
            total += 4.0 * c * d * (dv + 1) + c * (c + 1) / 2.0 * 2.0 * (d + dv);
        }
        return (double) batch * heads * total;
    }

    /** Query-key pairs of {@code seq} queries after {@code before} tokens, each seeing {@code lookback} back. */
    static double pairs(long before, int seq, long lookback) {
        if (lookback >= before + seq) {
            // every query sees all earlier tokens: Σ (p + 1) over p = before .. before+seq-1
            return (double) seq * before + (double) seq * (seq + 1) / 2.0;
        }
        double total = 0;
        for (long p = before; p < before + seq; p++) {
            total += Math.min(lookback, p) + 1;
        }
        return total;
    }

    private static double mixer(MixerConfig m, int batch, long before, int seq) {
        double tokens = (double) batch * seq;
        return switch (m) {
            case LinearAttentionLayer.Config la -> {
                int f = la.spec().featureDim();
                int hv = la.heads() * la.headDim();
                yield linear(tokens, la.modelDim(), 2 * la.heads() * f + hv) + linear(tokens, hv, la.modelDim())
                        + linearAttention(batch, la.heads(), seq, f, la.headDim());
            }
            case SlidingWindowLayer.Config sw -> linear(tokens, sw.modelDim(), 4 * sw.modelDim())
                    + (double) batch * sw.heads() * pairs(before, seq, sw.window().lookback()) * 4.0 * sw.headDim();
            case BaseConvLayer.Config c -> {
                BaseConvSpec s = c.spec();
                yield linear(tokens, s.modelDim(), 2 * s.innerDim()) + linear(tokens, s.innerDim(), s.modelDim())
                        + 2.0 * tokens * s.innerDim() * s.kernelSize();
            }
            case BasedAttentionLayer.Config ba -> {
                int f = ba.spec().featureMap().inputDim();
                int hv = ba.heads() * ba.headDim();
                yield linear(tokens, ba.modelDim(), 2 * ba.heads() * f + hv) + linear(tokens, hv, ba.modelDim())
                        + (double) batch * ba.heads() * pairs(before, seq, ba.spec().lookback()) * 2.0
                                * (f + ba.headDim())
                        + seq * linearAttention(batch, ba.heads(), 1, f, ba.headDim());
            }
            default -> throw new IllegalArgumentException("config: no FLOP count for mixer " + m);
        };
    }
}
