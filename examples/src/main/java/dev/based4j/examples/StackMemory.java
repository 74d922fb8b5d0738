package dev.based4j.examples;

import static dev.based4j.examples.MemoryBudget.plus;
import static dev.based4j.examples.MemoryBudget.times;

import dev.based4j.attention.BaseConvSpec;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.BasedAttentionLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;

/**
 * Bytes a layer stack holds, from its configuration alone (nothing is allocated), for {@link MemoryBudget}:
 * weights, the decode state of a batch, and the activations of one prefill call at its peak. Every figure
 * saturates at {@link Long#MAX_VALUE} instead of overflowing.
 *
 * <p>Activations: blocks run one after another, so the peak is the residual stream (input, normalised input,
 * mixer output and sum: {@code 4·D} per token), the SwiGLU MLP ({@code 3·hidden}), the widest mixer's
 * intermediates per token (linear attention: the q/k projections, their feature maps at the expanded width
 * {@code D_φ}, values and output; sliding window: q, k, v and output; BaseConv: four {@code inner}-wide tensors), a
 * block of {@value #SCORE_ROWS} query rows of attention scores per head, and the logits when the stack has a head.
 */
final class StackMemory {
    /** Rows of the attention-score block the estimate allows per head (backends score queries in blocks). */
    static final int SCORE_ROWS = 64;

    private StackMemory() {}

    /** @return bytes of the stack's weights in {@code dtype} */
    static long weights(LayerStack.Config config, DType dtype) {
        return weights(config, dtype, WeightFormat.of(dtype));
    }

    /**
     * @return bytes of the stack's weights with the matrices (projections, MLP, embedding, head) stored in
     *     {@code format}, int8 scales and everything else (norms, biases, convolutions) in {@code dtype}
     */
    static long weights(LayerStack.Config config, DType dtype, WeightFormat format) {
        long d = config.modelDim();
        long rows = times(config.vocabSize(), config.tiedHead() ? 1 : 2);
        long matrices = times(rows, d);
        long vectors = d;
        for (MixerConfig m : config.mixers()) {
            long[] mixer = mixerWeights(m);
            matrices = plus(matrices, mixer[0]);
            vectors = plus(vectors, mixer[1], times(2, d));
            rows = plus(rows, mixer[2]);
            if (config.mlp() != null) {
                matrices = plus(matrices, times(3, config.mlp().hidden(), d));
                rows = plus(rows, times(2, config.mlp().hidden()), d);
            }
        }
        long bytes = plus(times(matrices, format.type().byteSize()), times(vectors, dtype.byteSize()));
        if (format.type() == DType.I8) {
            long scales = format.groupSize() == 0 ? rows : matrices / format.groupSize();
            bytes = plus(bytes, times(scales, dtype.byteSize()));
        }
        return bytes;
    }

    /** @return elements of a mixer's matrices, of its other weights, and the rows of its matrices */
    private static long[] mixerWeights(MixerConfig m) {
        long d = m.modelDim();
        return switch (m) {
            case LinearAttentionLayer.Config c -> new long[] {plus(times(2, c.heads(), c.featureDim(), d),
                    times(2, c.heads(), c.headDim(), d)), 0, plus(times(2, c.heads(), c.featureDim()),
                            times(c.heads(), c.headDim()), d)};
            case BasedAttentionLayer.Config c -> new long[] {plus(times(2, c.heads(), c.spec().featureMap().inputDim(),
                    d), times(2, c.heads(), c.headDim(), d)), 0, plus(times(2, c.heads(),
                            c.spec().featureMap().inputDim()), times(c.heads(), c.headDim()), d)};
            case SlidingWindowLayer.Config c -> new long[] {times(4, d, d), plus(c.qkvBias() ? times(3, d) : 0,
                    c.outBias() ? d : 0), times(4, d)};
            case BaseConvLayer.Config c -> {
                BaseConvSpec s = c.spec();
                yield new long[] {times(3, s.innerDim(), d), plus(times(s.innerDim(), s.kernelSize()),
                        times(2, s.innerDim()), d), plus(times(2, s.innerDim()), d)};
            }
        };
    }

    /** @return bytes of the decode state of {@code batch} sequences, whatever their length */
    static long state(LayerStack.Config config, int batch, DType dtype) {
        long n = 0;
        for (MixerConfig m : config.mixers()) {
            n = plus(n, switch (m) {
                case LinearAttentionLayer.Config c -> {
                    long expanded = c.spec().expandedDim();
                    yield times(batch, c.heads(), plus(times(expanded, c.headDim()), expanded));
                }
                case BasedAttentionLayer.Config c -> {
                    long expanded = c.spec().featureMap().outputDim();
                    yield plus(times(batch, c.heads(), plus(times(expanded, c.headDim()), expanded)),
                            times(2, batch, c.heads(), (long) c.spec().lookback() + 1,
                                    Math.max(c.headDim(), c.spec().featureMap().inputDim())));
                }
                case SlidingWindowLayer.Config c -> times(2, batch, c.heads(), cacheRows(c), c.headDim());
                case BaseConvLayer.Config c -> times(batch, c.spec().innerDim(), c.spec().kernelSize());
                default -> 0L;
            });
        }
        return times(n, dtype.byteSize());
    }

    /** @return rows of the key/value cache: the window plus the current token, or the whole capacity when unbounded */
    private static long cacheRows(SlidingWindowLayer.Config c) {
        return c.window().isUnbounded() ? c.maxTokens() : (long) c.window().lookback() + 1;
    }

    /** @return bytes of the activations of one prefill of {@code seq} tokens per sequence, at their peak */
    static long prefillActivations(LayerStack.Config config, int batch, long seq, DType dtype) {
        long d = config.modelDim();
        long widestMixer = 0;
        long scores = 0;
        for (MixerConfig m : config.mixers()) {
            widestMixer = Math.max(widestMixer, mixerPerToken(m));
            if (m instanceof SlidingWindowLayer.Config c) {
                long keys = Math.min(seq, cacheRows(c));
                scores = Math.max(scores, times(batch, c.heads(), Math.min(SCORE_ROWS, seq), keys));
            }
        }
        long perToken = plus(times(4, d), config.mlp() == null ? 0 : times(3, config.mlp().hidden()), widestMixer,
                config.vocabSize());
        return times(plus(times(batch, seq, perToken), scores), dtype.byteSize());
    }

    private static long mixerPerToken(MixerConfig m) {
        long d = m.modelDim();
        return switch (m) {
            case LinearAttentionLayer.Config c -> plus(times(2, c.heads(), c.featureDim()),
                    times(2, c.heads(), c.spec().expandedDim()), times(2, c.heads(), c.headDim()));
            case BasedAttentionLayer.Config c -> plus(times(2, c.heads(), c.spec().featureMap().inputDim()),
                    times(2, c.heads(), c.spec().featureMap().outputDim()), times(3, c.heads(), c.headDim()));
            case SlidingWindowLayer.Config c -> times(4, d);
            case BaseConvLayer.Config c -> times(4, c.spec().innerDim());
            default -> times(4, d);
        };
    }
}
