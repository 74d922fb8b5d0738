package dev.based4j.layer;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The sliding-window attention mixer of BASED ({@code based-math.md} c): {@code qkv = x·Wqkvᵀ} split into q | k | v
 * (each {@code D} wide, head-major), rotary embedding (GPT-NeoX rotate-halves) on q and k at their absolute
 * positions, causal softmax attention over the window, heads merged and {@code y = ·out_projᵀ}.
 *
 * <p>Weights: {@code Wqkv.weight [3D, D]} (and {@code Wqkv.bias [3D]} when {@link Config#qkvBias()}),
 * {@code out_proj.weight [D, D]} (and {@code out_proj.bias [D]} when {@link Config#outBias()}). State:
 * {@link WindowState} holding the keys after rotary, each rotated at its own position, and the values.
 */
public final class SlidingWindowLayer implements Mixer {
    /** The rotary base of the released models. */
    public static final double DEFAULT_ROTARY_BASE = 10000.0;

    /**
     * Shape and kernel of the layer.
     *
     * @param modelDim D
     * @param heads H; the head dimension is {@code D/H}
     * @param window the attention window ({@code lookback}, scale)
     * @param rotaryDim dimensions of each head that rotate: even, {@code 0..D/H}; 0 turns rotary off
     * @param rotaryBase θ base, {@code > 1}
     * @param qkvBias whether {@code Wqkv} has a bias (false in the released configs)
     * @param outBias whether {@code out_proj} has a bias (false in the released configs)
     * @param maxTokens capacity of the KV cache when the window is unbounded (full attention); unused otherwise
     */
    public record Config(int modelDim, int heads, SlidingWindowSpec window, int rotaryDim, double rotaryBase,
            boolean qkvBias, boolean outBias, int maxTokens) implements MixerConfig {
        /** Validates every field. */
        public Config {
            LayerSupport.positive("heads", heads);
            if (modelDim < 1 || modelDim % heads != 0) {
                throw new IllegalArgumentException(
                        "modelDim: expected a positive multiple of heads=" + heads + ", got " + modelDim);
            }
            if (window == null) {
                throw new IllegalArgumentException("window: expected a SlidingWindowSpec, got null");
            }
            int hd = modelDim / heads;
            if (rotaryDim < 0 || rotaryDim > hd || rotaryDim % 2 != 0) {
                throw new IllegalArgumentException(
                        "rotaryDim: expected an even value in 0.." + hd + " (0 = no rotary), got " + rotaryDim);
            }
            if (!(rotaryBase > 1) || Double.isInfinite(rotaryBase)) {
                throw new IllegalArgumentException("rotaryBase: expected a finite value > 1, got " + rotaryBase);
            }
            LayerSupport.positive("maxTokens", maxTokens);
        }

        /**
         * The released layout: rotary on the whole head, base 10000, no biases, window of {@code lookback}
         * previous tokens (a released {@code window_size W} is {@code lookback = W/2}).
         */
        public static Config of(int modelDim, int heads, int lookback) {
            LayerSupport.positive("heads", heads);
            if (modelDim < 1 || modelDim % heads != 0) {
                throw new IllegalArgumentException(
                        "modelDim: expected a positive multiple of heads=" + heads + ", got " + modelDim);
            }
            return new Config(modelDim, heads, SlidingWindowSpec.of(lookback), modelDim / heads, DEFAULT_ROTARY_BASE,
                    false, false, 2048);
        }

        /** @return D/H */
        public int headDim() {
            return modelDim / heads;
        }

        /** @return a copy with another rotary base */
        public Config withRotaryBase(double base) {
            return new Config(modelDim, heads, window, rotaryDim, base, qkvBias, outBias, maxTokens);
        }

        /** @return a copy with another rotary dimension (0 turns rotary off) */
        public Config withRotaryDim(int dim) {
            return new Config(modelDim, heads, window, dim, rotaryBase, qkvBias, outBias, maxTokens);
        }

        /** @return a copy with or without the two biases */
        public Config withBiases(boolean qkv, boolean out) {
            return new Config(modelDim, heads, window, rotaryDim, rotaryBase, qkv, out, maxTokens);
        }

        @Override
        public SlidingWindowLayer load(Backend backend, DType dtype, WeightSource weights) {
            return SlidingWindowLayer.load(backend, dtype, weights, this);
        }

        @Override
        public SlidingWindowLayer load(Backend backend, DType dtype, WeightFormat format, WeightSource weights) {
            return SlidingWindowLayer.load(backend, dtype, format, weights, this);
        }

        @Override
        public Map<String, HostTensor> randomWeights(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            Map<String, HostTensor> w = new LinkedHashMap<>();
            LayerSupport.linearWeight(w, r, "Wqkv.weight", 3 * modelDim, modelDim);
            if (qkvBias) {
                LayerSupport.linearBias(w, r, "Wqkv.bias", 3 * modelDim, modelDim);
            }
            LayerSupport.linearWeight(w, r, "out_proj.weight", modelDim, modelDim);
            if (outBias) {
                LayerSupport.linearBias(w, r, "out_proj.bias", modelDim, modelDim);
            }
            return w;
        }

        @Override
        public SlidingWindowLayer random(Backend backend, DType dtype, long seed) {
            return load(backend, dtype, WeightSource.of(randomWeights(seed)));
        }
    }

    private final Config config;
    private final Backend backend;
    private final DType dtype;
    private final WeightFormat format;
    private final Weight wqkv;
    private final Tensor bqkv;
    private final Weight wo;
    private final Tensor bo;
    private volatile boolean closed;

    private SlidingWindowLayer(Config config, Backend backend, DType dtype, WeightFormat format, List<Weight> w,
            List<Tensor> biases) {
        this.config = config;
        this.backend = backend;
        this.dtype = dtype;
        this.format = format;
        this.wqkv = w.get(0);
        this.wo = w.get(1);
        this.bqkv = biases.get(0);
        this.bo = biases.get(1);
    }

    /**
     * Builds the layer from checkpoint weights ({@code Wqkv.weight}, {@code out_proj.weight}, biases when
     * configured), uploaded once in {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit
     */
    public static SlidingWindowLayer load(Backend backend, DType dtype, WeightSource weights, Config config) {
        return load(backend, dtype, LayerSupport.sameAs(dtype), weights, config);
    }

    /**
     * Builds the layer from checkpoint weights, {@code Wqkv.weight} and {@code out_proj.weight} stored in
     * {@code format} (the compute type, bf16, f16 or int8 with scales), the biases in {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit,
     *     or the format when it does not fit {@code dtype}
     * @throws UnsupportedOperationException when the backend does not take weights of the format
     */
    public static SlidingWindowLayer load(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            Config config) {
        LayerSupport.backend(backend);
        LayerSupport.dtype(dtype);
        LayerSupport.format(format, dtype);
        LayerSupport.weights(weights);
        LayerSupport.config(config);
        int d = config.modelDim();
        List<HostTensor> hosts = new ArrayList<>();
        hosts.add(config.qkvBias() ? LayerSupport.fetch(weights, "Wqkv.bias", Shape.of(3 * d)) : null);
        hosts.add(config.outBias() ? LayerSupport.fetch(weights, "out_proj.bias", Shape.of(d)) : null);
        List<Weight> w = LayerSupport.uploadWeights(backend, dtype, format, weights, List.of(
                new LayerSupport.Matrix("Wqkv.weight", Shape.of(3 * d, d)),
                new LayerSupport.Matrix("out_proj.weight", Shape.of(d, d))));
        try {
            return new SlidingWindowLayer(config, backend, dtype, format, w,
                    LayerSupport.uploadAll(backend, dtype, hosts));
        } catch (RuntimeException | Error e) {
            LayerSupport.closeAll(w);
            throw e;
        }
    }

    /** Builds the layer with seeded random weights ({@link Config#randomWeights(long)}). */
    public static SlidingWindowLayer random(Backend backend, DType dtype, Config config, long seed) {
        return load(backend, dtype, WeightSource.of(LayerSupport.config(config).randomWeights(seed)), config);
    }

    /** @return the configuration */
    public Config config() {
        return config;
    }

    /** @return the element type of the tensors it takes and computes in (and of its biases) */
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

    /** @return an empty ring of {@code lookback + 1} slots (or a KV cache of {@code maxTokens} when unbounded) */
    @Override
    public WindowState newState(int batch) {
        LayerSupport.open(closed, "sliding window layer");
        LayerSupport.positive("batch", batch);
        int hd = config.headDim();
        if (config.window().isUnbounded()) {
            return WindowState.growing(backend, batch, config.heads(), hd, hd, config.maxTokens(), dtype);
        }
        return WindowState.empty(backend, batch, config.heads(), hd, hd, config.window().lookback(), dtype);
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
        LayerSupport.open(closed, "sliding window layer");
        LayerSupport.input("x", x, backend, dtype, config.modelDim(), decode);
        WindowState s = LayerSupport.state(state, WindowState.class, "sliding window layer");
        Backend b = backend;
        int d = config.modelDim();
        int h = config.heads();
        long start = s.position();
        try (Tensor qkv = b.linear(x, wqkv, bqkv);
                Tensor qFlat = b.slice(qkv, 0, d);
                Tensor kFlat = b.slice(qkv, d, 2 * d);
                Tensor vFlat = b.slice(qkv, 2 * d, 3 * d);
                Tensor q0 = b.splitHeads(qFlat, h);
                Tensor k0 = b.splitHeads(kFlat, h);
                Tensor v = b.splitHeads(vFlat, h);
                Tensor q = rotate(q0, start);
                Tensor k = rotate(k0, start);
                Tensor y = decode
                        ? b.slidingWindowDecode(config.window(), q, k, v, s)
                        : b.slidingWindowPrefill(config.window(), q, k, v, s);
                Tensor merged = b.mergeHeads(y)) {
            return b.linear(merged, wo, bo);
        }
    }

    /** Rotary at absolute positions {@code start..}; a fresh tensor even when rotary is off, so callers close it. */
    private Tensor rotate(Tensor x, long start) {
        if (config.rotaryDim() == 0) {
            return backend.slice(x, 0, x.shape().dim(-1));
        }
        return backend.rotary(x, start, config.rotaryDim(), config.rotaryBase());
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LayerSupport.closeAll(java.util.Arrays.asList(wqkv, bqkv, wo, bo));
        }
    }

    @Override
    public String toString() {
        return "SlidingWindowLayer[" + config + ", " + LayerSupport.describe(dtype, format) + " on " + backend.name() + "]";
    }
}
