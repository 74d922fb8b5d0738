package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * RMSNorm over the last dimension, weight only: {@code y = x / sqrt(mean(x²) + eps) · weight}
 * ({@code based-math.md} e). Weight: {@code weight [D]}, relative to the norm (e.g. {@code norm1.weight} of a
 * block is this norm's {@code weight} under the prefix {@code norm1.}).
 */
public final class RmsNorm implements AutoCloseable {
    /** eps of the released models (GPT2Config's {@code layer_norm_epsilon}). */
    public static final double DEFAULT_EPS = 1e-5;

    /**
     * Shape of the norm.
     *
     * @param dim D
     * @param eps added to the mean square, finite and {@code > 0}
     */
    public record Config(int dim, double eps) {
        /** Validates both fields. */
        public Config {
            LayerSupport.positive("dim", dim);
            if (!(eps > 0) || Double.isInfinite(eps)) {
                throw new IllegalArgumentException("eps: expected a finite value > 0, got " + eps);
            }
        }

        /** eps 1e-5. */
        public static Config of(int dim) {
            return new Config(dim, DEFAULT_EPS);
        }

        /** @return seeded weights near 1 (U(0.5, 1.5)) under the name {@code weight}, F32 */
        public Map<String, HostTensor> randomWeights(long seed) {
            return Map.of("weight", LayerSupport.nearOne(new SplittableRandom(seed), Shape.of(dim)));
        }
    }

    private final Config config;
    private final Backend backend;
    private final DType dtype;
    private final Tensor weight;
    private volatile boolean closed;

    private RmsNorm(Config config, Backend backend, DType dtype, Tensor weight) {
        this.config = config;
        this.backend = backend;
        this.dtype = dtype;
        this.weight = weight;
    }

    /**
     * Builds the norm from its {@code weight [dim]}, uploaded once in {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when it does not fit
     */
    public static RmsNorm load(Backend backend, DType dtype, WeightSource weights, Config config) {
        LayerSupport.backend(backend);
        LayerSupport.dtype(dtype);
        LayerSupport.weights(weights);
        LayerSupport.config(config);
        HostTensor w = LayerSupport.fetch(weights, "weight", Shape.of(config.dim()));
        return new RmsNorm(config, backend, dtype, LayerSupport.uploadAll(backend, dtype, List.of(w)).get(0));
    }

    /** Builds the norm with seeded random weights ({@link Config#randomWeights(long)}). */
    public static RmsNorm random(Backend backend, DType dtype, Config config, long seed) {
        return load(backend, dtype, WeightSource.of(LayerSupport.config(config).randomWeights(seed)), config);
    }

    /** @return the configuration */
    public Config config() {
        return config;
    }

    /** @return the backend holding the weight */
    public Backend backend() {
        return backend;
    }

    /** @return the element type of the weight and of the tensors it takes */
    public DType dtype() {
        return dtype;
    }

    /**
     * Normalises every token.
     *
     * @param x {@code [batch, seq, dim]} of this norm's backend and type
     * @return a new tensor of the same shape; the caller closes it
     */
    public Tensor forward(Tensor x) {
        LayerSupport.open(closed, "RMSNorm");
        LayerSupport.input("x", x, backend, dtype, config.dim(), false);
        return backend.rmsNorm(x, weight, config.eps());
    }

    /** Frees the weight. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            weight.close();
        }
    }

    @Override
    public String toString() {
        return "RmsNorm[" + config + ", " + dtype.label() + " on " + backend.name() + "]";
    }
}
