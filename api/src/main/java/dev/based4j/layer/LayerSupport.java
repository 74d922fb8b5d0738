package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Checks, uploads and seeded weights shared by the layers. */
final class LayerSupport {
    private LayerSupport() {}

    static Backend backend(Backend backend) {
        if (backend == null) {
            throw new IllegalArgumentException("backend: expected a backend, got null");
        }
        return backend;
    }

    static DType dtype(DType dtype) {
        if (dtype == null) {
            throw new IllegalArgumentException("dtype: expected f32 or f64, got null");
        }
        return dtype;
    }

    static WeightSource weights(WeightSource weights) {
        if (weights == null) {
            throw new IllegalArgumentException("weights: expected a weight source, got null");
        }
        return weights;
    }

    static <T> T config(T config) {
        if (config == null) {
            throw new IllegalArgumentException("config: expected a layer configuration, got null");
        }
        return config;
    }

    static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }

    /**
     * Fetches a tensor and checks its shape; the error names the tensor, the expected and the found shape.
     */
    static HostTensor fetch(WeightSource weights, String name, Shape expected) {
        HostTensor t = weights.get(name);
        if (t == null) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' is missing (the source returned null)");
        }
        if (!t.shape().equals(expected)) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected shape " + expected + ", found "
                    + t.shape());
        }
        return t;
    }

    /**
     * Uploads several host tensors in {@code dtype}; on failure frees what was already uploaded. The result has
     * the order of {@code hosts}.
     */
    static List<Tensor> uploadAll(Backend backend, DType dtype, List<HostTensor> hosts) {
        List<Tensor> out = new ArrayList<>(hosts.size());
        try {
            for (HostTensor h : hosts) {
                out.add(h == null ? null : backend.upload(h.dtype() == dtype ? h : h.to(dtype)));
            }
            return out;
        } catch (RuntimeException | Error e) {
            closeAll(out);
            throw e;
        }
    }

    static void closeAll(List<? extends AutoCloseable> parts) {
        RuntimeException first = null;
        for (AutoCloseable c : parts) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Checks a layer input {@code [batch, seq, modelDim]} (seq = 1 for decode) of the layer's backend and type. */
    static void input(String name, Tensor x, Backend backend, DType dtype, int modelDim, boolean decode) {
        if (x == null) {
            throw new IllegalArgumentException(name + ": expected a tensor, got null");
        }
        Shape s = x.shape();
        if (s.rank() != 3 || s.dim(2) != modelDim) {
            throw new IllegalArgumentException(
                    name + ": expected shape [batch, seq, d_model=" + modelDim + "], got " + s);
        }
        if (decode && s.dim(1) != 1) {
            throw new IllegalArgumentException(name + ": decode takes one token, expected shape [batch, 1, d_model="
                    + modelDim + "], got " + s);
        }
        if (x.dtype() != dtype) {
            throw new IllegalArgumentException(name + ": expected dtype " + dtype.label()
                    + " like the layer's weights, got " + x.dtype().label());
        }
        if (x.backend() != backend) {
            throw new IllegalArgumentException(name + ": expected a tensor of backend " + backend.name()
                    + " that holds the layer's weights, got " + x + " of backend " + x.backend().name());
        }
    }

    /** Casts a state to the kind a mixer carries, with a message that names both kinds. */
    static <S extends RecurrentState> S state(RecurrentState state, Class<S> kind, String layer) {
        if (state == null) {
            throw new IllegalArgumentException("state: expected a " + kind.getSimpleName() + ", got null");
        }
        if (!kind.isInstance(state)) {
            throw new IllegalArgumentException("state: " + layer + " carries a " + kind.getSimpleName()
                    + " (from its newState), got " + state);
        }
        return kind.cast(state);
    }

    static void open(boolean closed, String layer) {
        if (closed) {
            throw new IllegalStateException(layer + ": closed; its weights were freed and it cannot run again");
        }
    }

    // ---------------------------------------------------------------- seeded weights

    /**
     * PyTorch's default {@code nn.Linear} initialisation, U(−1/√in, 1/√in), rounded to F32 so that F32 and F64
     * backends receive the identical values.
     */
    static HostTensor uniform(SplittableRandom random, Shape shape, double bound) {
        int n = Math.toIntExact(shape.elementCount());
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        }
        return HostTensor.of(data, shape);
    }

    /** Norm weights near 1: U(0.5, 1.5), rounded to F32. */
    static HostTensor nearOne(SplittableRandom random, Shape shape) {
        int n = Math.toIntExact(shape.elementCount());
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = (float) (0.5 + random.nextDouble());
        }
        return HostTensor.of(data, shape);
    }

    static void linearWeight(Map<String, HostTensor> into, SplittableRandom random, String name, int out, int in) {
        into.put(name, uniform(random, Shape.of(out, in), 1.0 / Math.sqrt(in)));
    }

    static void linearBias(Map<String, HostTensor> into, SplittableRandom random, String name, int out, int in) {
        into.put(name, uniform(random, Shape.of(out), 1.0 / Math.sqrt(in)));
    }
}
