package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
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

    /** @return the format that stores weights in the compute type {@code dtype} (checked first) */
    static WeightFormat sameAs(DType dtype) {
        return WeightFormat.of(dtype(dtype));
    }

    /** @return {@code f32}, or {@code f32, int8 weights} when the weights are stored in a reduced format */
    static String describe(DType dtype, WeightFormat format) {
        return dtype.label() + (format.isReduced() ? ", " + format.label() + " weights" : "");
    }

    /** Checks that a format is given and fits the compute type; the error names both. */
    static WeightFormat format(WeightFormat format, DType dtype) {
        if (format == null) {
            throw new IllegalArgumentException("format: expected a weight format (f32, f64, bf16, f16, int8), got null");
        }
        format.requireFits(dtype);
        return format;
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

    /** A matrix weight a layer reads: its checkpoint name relative to the layer and its shape. */
    record Matrix(String name, Shape shape) {}

    /**
     * Reads the matrix weights {@code matrices} in {@code format} and uploads them, the scales of int8 weights in
     * {@code dtype}; on failure frees what was already uploaded. The result has the order of {@code matrices}.
     */
    static List<Weight> uploadWeights(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            List<Matrix> matrices) {
        List<Weight> out = new ArrayList<>(matrices.size());
        try {
            for (Matrix m : matrices) {
                HostWeight h = weights.weight(m.name(), m.shape(), format);
                if (h == null || !h.shape().equals(m.shape()) || !h.format().equals(format)) {
                    throw new IllegalArgumentException("weights: tensor '" + m.name() + "' expected " + format.label()
                            + " " + m.shape() + ", the source gave " + (h == null ? "null" : h.format().label() + " "
                                    + h.shape()));
                }
                out.add(h.upload(backend, dtype));
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
        // written straight into native memory: a table of a large vocabulary does not pass through the heap
        HostTensor t = HostTensor.allocate(shape, DType.F32);
        java.lang.foreign.MemorySegment s = t.segment();
        long n = shape.elementCount();
        for (long i = 0; i < n; i++) {
            s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i,
                    (float) ((random.nextDouble() * 2 - 1) * bound));
        }
        return t;
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
