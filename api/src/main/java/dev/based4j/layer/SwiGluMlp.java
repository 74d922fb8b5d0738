package dev.based4j.layer;

import dev.based4j.Backend;
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
 * The gated MLP of BASED ({@code GatedMlp}, SwiGLU, no biases; {@code based-math.md} e):
 * {@code [a | g] = x·fc1ᵀ}, {@code y = (a ⊙ silu(g))·fc2ᵀ}. The <em>first</em> half of {@code fc1}'s output is
 * the linear branch, the <em>second</em> half the gate.
 *
 * <p>Weights: {@code fc1.weight [2·hidden, D]}, {@code fc2.weight [D, hidden]}. Stateless; input and output
 * {@code [batch, seq, D]}.
 */
public final class SwiGluMlp implements AutoCloseable {
    /**
     * Shape of the MLP.
     *
     * @param modelDim D
     * @param hidden the hidden width ({@link #roundedHidden} of {@code n_inner} in the released models)
     */
    public record Config(int modelDim, int hidden) {
        /** Validates both fields. */
        public Config {
            LayerSupport.positive("modelDim", modelDim);
            LayerSupport.positive("hidden", hidden);
        }

        /** @return seeded random weights under the checkpoint names, F32 (PyTorch's default Linear init) */
        public Map<String, HostTensor> randomWeights(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            Map<String, HostTensor> w = new LinkedHashMap<>();
            LayerSupport.linearWeight(w, r, "fc1.weight", 2 * hidden, modelDim);
            LayerSupport.linearWeight(w, r, "fc2.weight", modelDim, hidden);
            return w;
        }
    }

    private final Config config;
    private final Backend backend;
    private final DType dtype;
    private final WeightFormat format;
    private final Weight fc1;
    private final Weight fc2;
    private volatile boolean closed;

    private SwiGluMlp(Config config, Backend backend, DType dtype, WeightFormat format, List<Weight> w) {
        this.config = config;
        this.backend = backend;
        this.dtype = dtype;
        this.format = format;
        this.fc1 = w.get(0);
        this.fc2 = w.get(1);
    }

    /**
     * The hidden width of the released models: {@code n_inner} rounded up to a multiple of {@code multiple}
     * (256), e.g. 2048 for D = 1024 and 256 for the tiny golden models.
     */
    public static int roundedHidden(int nInner, int multiple) {
        LayerSupport.positive("nInner", nInner);
        LayerSupport.positive("multiple", multiple);
        return Math.toIntExact(((long) nInner + multiple - 1) / multiple * multiple);
    }

    /**
     * Builds the MLP from checkpoint weights ({@code fc1.weight}, {@code fc2.weight}), uploaded once in
     * {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit
     */
    public static SwiGluMlp load(Backend backend, DType dtype, WeightSource weights, Config config) {
        return load(backend, dtype, LayerSupport.sameAs(dtype), weights, config);
    }

    /**
     * Builds the MLP from checkpoint weights ({@code fc1.weight}, {@code fc2.weight}) stored in {@code format} (the
     * compute type, bf16, f16 or int8 with scales).
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit,
     *     or the format when it does not fit {@code dtype}
     * @throws UnsupportedOperationException when the backend does not take weights of the format
     */
    public static SwiGluMlp load(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            Config config) {
        LayerSupport.backend(backend);
        LayerSupport.dtype(dtype);
        LayerSupport.format(format, dtype);
        LayerSupport.weights(weights);
        LayerSupport.config(config);
        List<LayerSupport.Matrix> matrices = List.of(
                new LayerSupport.Matrix("fc1.weight", Shape.of(2 * config.hidden(), config.modelDim())),
                new LayerSupport.Matrix("fc2.weight", Shape.of(config.modelDim(), config.hidden())));
        return new SwiGluMlp(config, backend, dtype, format,
                LayerSupport.uploadWeights(backend, dtype, format, weights, matrices));
    }

    /** Builds the MLP with seeded random weights ({@link Config#randomWeights(long)}). */
    public static SwiGluMlp random(Backend backend, DType dtype, Config config, long seed) {
        return load(backend, dtype, WeightSource.of(LayerSupport.config(config).randomWeights(seed)), config);
    }

    /** @return the configuration */
    public Config config() {
        return config;
    }

    /** @return the backend holding the weights */
    public Backend backend() {
        return backend;
    }

    /** @return the element type of the tensors it takes and computes in */
    public DType dtype() {
        return dtype;
    }

    /** @return how its two weights are stored */
    public WeightFormat weightFormat() {
        return format;
    }

    /**
     * Applies the MLP to every token.
     *
     * @param x {@code [batch, seq, D]} of this MLP's backend and type
     * @return a new tensor {@code [batch, seq, D]}; the caller closes it
     */
    public Tensor forward(Tensor x) {
        LayerSupport.open(closed, "SwiGLU MLP");
        LayerSupport.input("x", x, backend, dtype, config.modelDim(), false);
        Backend b = backend;
        int h = config.hidden();
        try (Tensor u = b.linear(x, fc1, null);
                Tensor linear = b.slice(u, 0, h);
                Tensor gate = b.slice(u, h, 2 * h);
                Tensor activated = b.silu(gate);
                Tensor product = b.multiply(linear, activated)) {
            return b.linear(product, fc2, null);
        }
    }

    /** Frees the weights. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LayerSupport.closeAll(List.of(fc1, fc2));
        }
    }

    @Override
    public String toString() {
        return "SwiGluMlp[" + config + ", " + LayerSupport.describe(dtype, format) + " on " + backend.name() + "]";
    }
}
