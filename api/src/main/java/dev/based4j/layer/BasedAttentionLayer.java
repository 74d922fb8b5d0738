package dev.based4j.layer;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.Backend;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The fused linear-plus-window attention layer ({@code sdk-conventions.md}): the projections of
 * {@link LinearAttentionLayer} ({@code proj_q, proj_k [heads·f, D]}, {@code proj_v [heads·headDim, D]},
 * {@code out_proj [D, heads·headDim]}, no biases) around {@link Backend#basedAttentionPrefill}: exact softmax
 * over the {@code lookback + 1} most recent keys, linear attention over older ones, one normaliser. State:
 * {@link BasedAttentionState}.
 */
public final class BasedAttentionLayer implements Mixer {
    /**
     * Shape and kernel of the layer.
     *
     * @param modelDim D
     * @param heads H
     * @param headDim value dimension per head
     * @param spec the kernel: feature map (input dimension f), lookback, scale, eps
     */
    public record Config(int modelDim, int heads, int headDim, BasedAttentionSpec spec) implements MixerConfig {
        /** Validates every field. */
        public Config {
            LayerSupport.positive("modelDim", modelDim);
            LayerSupport.positive("heads", heads);
            LayerSupport.positive("headDim", headDim);
            if (spec == null) {
                throw new IllegalArgumentException("spec: expected a BasedAttentionSpec, got null");
            }
        }

        /** Head dim {@code D/heads}, Taylor map of {@code featureDim}, scale {@code 1/√f}, eps 1e-12. */
        public static Config of(int modelDim, int heads, int featureDim, int lookback) {
            LayerSupport.positive("heads", heads);
            if (modelDim < 1 || modelDim % heads != 0) {
                throw new IllegalArgumentException(
                        "modelDim: expected a positive multiple of heads=" + heads + ", got " + modelDim);
            }
            return new Config(modelDim, heads, modelDim / heads,
                    BasedAttentionSpec.of(new Taylor(featureDim), lookback));
        }

        /** @return f, the per-head q/k dimension */
        public int featureDim() {
            return spec.featureMap().inputDim();
        }

        @Override
        public BasedAttentionLayer load(Backend backend, DType dtype, WeightSource weights) {
            return BasedAttentionLayer.load(backend, dtype, weights, this);
        }

        @Override
        public BasedAttentionLayer load(Backend backend, DType dtype, WeightFormat format, WeightSource weights) {
            return BasedAttentionLayer.load(backend, dtype, format, weights, this);
        }

        @Override
        public Map<String, HostTensor> randomWeights(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            Map<String, HostTensor> w = new LinkedHashMap<>();
            LayerSupport.linearWeight(w, r, "proj_q.weight", heads * featureDim(), modelDim);
            LayerSupport.linearWeight(w, r, "proj_k.weight", heads * featureDim(), modelDim);
            LayerSupport.linearWeight(w, r, "proj_v.weight", heads * headDim, modelDim);
            LayerSupport.linearWeight(w, r, "out_proj.weight", modelDim, heads * headDim);
            return w;
        }

        @Override
        public BasedAttentionLayer random(Backend backend, DType dtype, long seed) {
            return load(backend, dtype, WeightSource.of(randomWeights(seed)));
        }
    }

    private final Config config;
    private final Backend backend;
    private final DType dtype;
    private final WeightFormat format;
    private final Weight wq;
    private final Weight wk;
    private final Weight wv;
    private final Weight wo;
    private volatile boolean closed;

    private BasedAttentionLayer(Config config, Backend backend, DType dtype, WeightFormat format, List<Weight> w) {
        this.config = config;
        this.backend = backend;
        this.dtype = dtype;
        this.format = format;
        this.wq = w.get(0);
        this.wk = w.get(1);
        this.wv = w.get(2);
        this.wo = w.get(3);
    }

    /**
     * Builds the layer from weights named like the linear-attention layer's, uploaded once in {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit
     */
    public static BasedAttentionLayer load(Backend backend, DType dtype, WeightSource weights, Config config) {
        return load(backend, dtype, LayerSupport.sameAs(dtype), weights, config);
    }

    /**
     * Builds the layer from checkpoint weights, its four projections stored in {@code format} (the compute type,
     * bf16, f16 or int8 with scales).
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit,
     *     naming a null argument, or the format when it does not fit {@code dtype}
     * @throws UnsupportedOperationException when the backend does not take weights of the format
     */
    public static BasedAttentionLayer load(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            Config config) {
        LayerSupport.backend(backend);
        LayerSupport.dtype(dtype);
        LayerSupport.format(format, dtype);
        LayerSupport.weights(weights);
        LayerSupport.config(config);
        int d = config.modelDim();
        int hf = config.heads() * config.featureDim();
        int hv = config.heads() * config.headDim();
        List<LayerSupport.Matrix> matrices = List.of(
                new LayerSupport.Matrix("proj_q.weight", Shape.of(hf, d)),
                new LayerSupport.Matrix("proj_k.weight", Shape.of(hf, d)),
                new LayerSupport.Matrix("proj_v.weight", Shape.of(hv, d)),
                new LayerSupport.Matrix("out_proj.weight", Shape.of(d, hv)));
        return new BasedAttentionLayer(config, backend, dtype, format,
                LayerSupport.uploadWeights(backend, dtype, format, weights, matrices));
    }

    /** Builds the layer with seeded random weights ({@link Config#randomWeights(long)}). */
    public static BasedAttentionLayer random(Backend backend, DType dtype, Config config, long seed) {
        return load(backend, dtype, WeightSource.of(LayerSupport.config(config).randomWeights(seed)), config);
    }

    /** @return the configuration */
    public Config config() {
        return config;
    }

    /** @return the element type of the tensors it takes and computes in */
    public DType dtype() {
        return dtype;
    }

    /** @return how its projections are stored */
    public WeightFormat weightFormat() {
        return format;
    }

    @Override
    public int modelDim() {
        return config.modelDim();
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public BasedAttentionState newState(int batch) {
        LayerSupport.open(closed, "fused attention layer");
        LayerSupport.positive("batch", batch);
        return BasedAttentionState.empty(backend, batch, config.heads(), config.featureDim(),
                config.spec().featureMap().outputDim(), config.headDim(), config.spec().lookback(), dtype);
    }

    @Override
    public Tensor prefill(Tensor x, RecurrentState state) {
        return run(x, state, false);
    }

    @Override
    public Tensor decode(Tensor x, RecurrentState state) {
        return run(x, state, true);
    }

    private Tensor run(Tensor x, RecurrentState state, boolean decode) {
        LayerSupport.open(closed, "fused attention layer");
        LayerSupport.input("x", x, backend, dtype, config.modelDim(), decode);
        BasedAttentionState s = LayerSupport.state(state, BasedAttentionState.class, "fused attention layer");
        Backend b = backend;
        int h = config.heads();
        try (Tensor qFlat = b.linear(x, wq, null);
                Tensor kFlat = b.linear(x, wk, null);
                Tensor vFlat = b.linear(x, wv, null);
                Tensor q = b.splitHeads(qFlat, h);
                Tensor k = b.splitHeads(kFlat, h);
                Tensor v = b.splitHeads(vFlat, h);
                Tensor y = decode
                        ? b.basedAttentionDecode(config.spec(), q, k, v, s)
                        : b.basedAttentionPrefill(config.spec(), q, k, v, s);
                Tensor merged = b.mergeHeads(y)) {
            return b.linear(merged, wo, null);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LayerSupport.closeAll(List.of(wq, wk, wv, wo));
        }
    }

    @Override
    public String toString() {
        return "BasedAttentionLayer[" + config + ", " + LayerSupport.describe(dtype, format) + " on " + backend.name() + "]";
    }
}
