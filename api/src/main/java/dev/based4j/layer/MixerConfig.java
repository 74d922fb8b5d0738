package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.WeightFormat;
import java.util.Map;

/**
 * The configuration of one sequence mixer, able to build it: from checkpoint weights or from seeded random
 * weights. A model picks one per layer index (BASED interleaves linear attention, sliding window and BaseConv).
 */
public sealed interface MixerConfig
        permits LinearAttentionLayer.Config, SlidingWindowLayer.Config, BaseConvLayer.Config,
                BasedAttentionLayer.Config {

    /** @return d_model, the width of the mixer's input and output */
    int modelDim();

    /**
     * Builds the mixer from weights named as in the released checkpoints, relative to the mixer (for example
     * {@code proj_q.weight}), uploading them once in {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit
     */
    default Mixer load(Backend backend, DType dtype, WeightSource weights) {
        return load(backend, dtype, LayerSupport.sameAs(dtype), weights);
    }

    /**
     * Builds the mixer from weights named as in the released checkpoints, its projections stored in {@code format}
     * (bf16, f16, int8 with scales, or the compute type), everything else (biases, convolution weights) and every
     * activation in {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit, or
     *     the format when it does not fit {@code dtype}
     * @throws UnsupportedOperationException when the backend does not take weights of the format
     */
    Mixer load(Backend backend, DType dtype, WeightFormat format, WeightSource weights);

    /**
     * @return seeded random weights under the checkpoint names, as F32 host tensors (PyTorch's default
     *     {@code nn.Linear} initialisation), so F32 and F64 backends get identical values
     */
    Map<String, HostTensor> randomWeights(long seed);

    /** Builds the mixer with {@link #randomWeights(long) seeded random weights}. */
    default Mixer random(Backend backend, DType dtype, long seed) {
        return load(backend, dtype, WeightSource.of(randomWeights(seed)));
    }

    /** Builds the mixer with {@link #randomWeights(long) seeded random weights}, its projections in {@code format}. */
    default Mixer random(Backend backend, DType dtype, WeightFormat format, long seed) {
        return load(backend, dtype, format, WeightSource.of(randomWeights(seed)));
    }
}
