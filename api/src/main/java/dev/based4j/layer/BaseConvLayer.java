package dev.based4j.layer;

import dev.based4j.attention.BaseConvSpec;
import dev.based4j.Backend;
import dev.based4j.state.ConvState;
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
 * BaseConv, the gated short convolution of BASED ({@code based-math.md} d):
 * {@code u = x·in_projᵀ + b} of width {@code 2·inner}, {@code u1 | u2} its halves,
 * {@code y = (silu(conv(u1)) ⊙ u2)·out_projᵀ + b} with a causal depthwise convolution over {@code u1} whose last
 * tap multiplies the current token. No residual inside (the block adds it).
 *
 * <p>Weights: {@code in_proj.weight [2·inner, D]}, {@code in_proj.bias [2·inner]},
 * {@code conv.conv.weight [inner, 1, K]}, {@code out_proj.weight [D, inner]}, {@code out_proj.bias [D]}. State:
 * {@link ConvState}, the last {@code K} inputs of the convolution.
 */
public final class BaseConvLayer implements Mixer {
    /**
     * Shape of the layer.
     *
     * @param spec D, the inner width and the kernel size
     */
    public record Config(BaseConvSpec spec) implements MixerConfig {
        /** Validates the spec. */
        public Config {
            if (spec == null) {
                throw new IllegalArgumentException("spec: expected a BaseConvSpec, got null");
            }
        }

        /** The released layout: inner width 2D, kernel 3. */
        public static Config of(int modelDim) {
            return new Config(BaseConvSpec.of(modelDim));
        }

        @Override
        public int modelDim() {
            return spec.modelDim();
        }

        @Override
        public BaseConvLayer load(Backend backend, DType dtype, WeightSource weights) {
            return BaseConvLayer.load(backend, dtype, weights, this);
        }

        @Override
        public BaseConvLayer load(Backend backend, DType dtype, WeightFormat format, WeightSource weights) {
            return BaseConvLayer.load(backend, dtype, format, weights, this);
        }

        @Override
        public Map<String, HostTensor> randomWeights(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            int d = spec.modelDim();
            int inner = spec.innerDim();
            int k = spec.kernelSize();
            Map<String, HostTensor> w = new LinkedHashMap<>();
            LayerSupport.linearWeight(w, r, "in_proj.weight", 2 * inner, d);
            LayerSupport.linearBias(w, r, "in_proj.bias", 2 * inner, d);
            // depthwise Conv1d: fan-in is the kernel size
            w.put("conv.conv.weight", LayerSupport.uniform(r, Shape.of(inner, 1, k), 1.0 / Math.sqrt(k)));
            LayerSupport.linearWeight(w, r, "out_proj.weight", d, inner);
            LayerSupport.linearBias(w, r, "out_proj.bias", d, inner);
            return w;
        }

        @Override
        public BaseConvLayer random(Backend backend, DType dtype, long seed) {
            return load(backend, dtype, WeightSource.of(randomWeights(seed)));
        }
    }

    private final Config config;
    private final Backend backend;
    private final DType dtype;
    private final WeightFormat format;
    private final Weight win;
    private final Tensor bin;
    private final Tensor conv;
    private final Weight wout;
    private final Tensor bout;
    private volatile boolean closed;

    private BaseConvLayer(Config config, Backend backend, DType dtype, WeightFormat format, List<Weight> w,
            List<Tensor> t) {
        this.config = config;
        this.backend = backend;
        this.dtype = dtype;
        this.format = format;
        this.win = w.get(0);
        this.wout = w.get(1);
        this.bin = t.get(0);
        this.conv = t.get(1);
        this.bout = t.get(2);
    }

    /**
     * Builds the layer from checkpoint weights, uploaded once in {@code dtype}; the convolution weight
     * {@code [inner, 1, K]} is stored as {@code [inner, K]}, the layout of {@link Backend#causalConv}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit
     */
    public static BaseConvLayer load(Backend backend, DType dtype, WeightSource weights, Config config) {
        return load(backend, dtype, LayerSupport.sameAs(dtype), weights, config);
    }

    /**
     * Builds the layer from checkpoint weights, {@code in_proj.weight} and {@code out_proj.weight} stored in
     * {@code format} (the compute type, bf16, f16 or int8 with scales), the biases and the convolution in
     * {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit,
     *     or the format when it does not fit {@code dtype}
     * @throws UnsupportedOperationException when the backend does not take weights of the format
     */
    public static BaseConvLayer load(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            Config config) {
        LayerSupport.backend(backend);
        LayerSupport.dtype(dtype);
        LayerSupport.format(format, dtype);
        LayerSupport.weights(weights);
        LayerSupport.config(config);
        BaseConvSpec s = config.spec();
        int d = s.modelDim();
        int inner = s.innerDim();
        int k = s.kernelSize();
        List<HostTensor> hosts = List.of(
                LayerSupport.fetch(weights, "in_proj.bias", Shape.of(2 * inner)),
                LayerSupport.fetch(weights, "conv.conv.weight", Shape.of(inner, 1, k)).reshape(Shape.of(inner, k)),
                LayerSupport.fetch(weights, "out_proj.bias", Shape.of(d)));
        List<Weight> w = LayerSupport.uploadWeights(backend, dtype, format, weights, List.of(
                new LayerSupport.Matrix("in_proj.weight", Shape.of(2 * inner, d)),
                new LayerSupport.Matrix("out_proj.weight", Shape.of(d, inner))));
        try {
            return new BaseConvLayer(config, backend, dtype, format, w, LayerSupport.uploadAll(backend, dtype, hosts));
        } catch (RuntimeException | Error e) {
            LayerSupport.closeAll(w);
            throw e;
        }
    }

    /** Builds the layer with seeded random weights ({@link Config#randomWeights(long)}). */
    public static BaseConvLayer random(Backend backend, DType dtype, Config config, long seed) {
        return load(backend, dtype, WeightSource.of(LayerSupport.config(config).randomWeights(seed)), config);
    }

    /** @return the configuration */
    public Config config() {
        return config;
    }

    /** @return the element type of the tensors it takes and computes in (and of its biases and convolution) */
    public DType dtype() {
        return dtype;
    }

    /** @return how its two projections are stored */
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
    public ConvState newState(int batch) {
        LayerSupport.open(closed, "BaseConv layer");
        LayerSupport.positive("batch", batch);
        return ConvState.zeros(backend, batch, config.spec().innerDim(), config.spec().kernelSize(), dtype);
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
        LayerSupport.open(closed, "BaseConv layer");
        LayerSupport.input("x", x, backend, dtype, config.modelDim(), decode);
        ConvState s = LayerSupport.state(state, ConvState.class, "BaseConv layer");
        Backend b = backend;
        int inner = config.spec().innerDim();
        try (Tensor u = b.linear(x, win, bin);
                Tensor u1 = b.slice(u, 0, inner);
                Tensor u2 = b.slice(u, inner, 2 * inner);
                Tensor c = b.causalConv(u1, conv, s);
                Tensor gate = b.silu(c);
                Tensor gated = b.multiply(gate, u2)) {
            return b.linear(gated, wout, bout);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LayerSupport.closeAll(List.of(win, bin, conv, wout, bout));
        }
    }

    @Override
    public String toString() {
        return "BaseConvLayer[" + config + ", " + LayerSupport.describe(dtype, format) + " on " + backend.name() + "]";
    }
}
