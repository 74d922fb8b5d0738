package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.WeightFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One pre-norm block of a BASED model ({@code based-math.md} e), on the residual stream {@code r}:
 * {@code r = r + mixer(norm1(r))}, then {@code r = r + mlp(norm2(r))}. A block without an MLP (zoology's MQAR
 * models) stops after the mixer.
 *
 * <p>Weights, relative to the block (a checkpoint's {@code transformer.layers.i.}): {@code norm1.weight},
 * {@code mixer.*}, {@code norm2.weight}, {@code mlp.fc1.weight}, {@code mlp.fc2.weight}. Closing the block closes
 * its parts.
 */
public final class Block implements AutoCloseable {
    private final RmsNorm norm1;
    private final Mixer mixer;
    private final RmsNorm norm2;
    private final SwiGluMlp mlp;
    private volatile boolean closed;

    /**
     * Assembles a block from parts on one backend, in one type and of one width; the block owns them from now on.
     *
     * @param norm2 null exactly when {@code mlp} is null
     * @param mlp null for a block without an MLP
     * @throws IllegalArgumentException naming the part that does not fit the others
     */
    public Block(RmsNorm norm1, Mixer mixer, RmsNorm norm2, SwiGluMlp mlp) {
        if (norm1 == null) {
            throw new IllegalArgumentException("norm1: expected an RmsNorm, got null");
        }
        if (mixer == null) {
            throw new IllegalArgumentException("mixer: expected a Mixer, got null");
        }
        if ((norm2 == null) != (mlp == null)) {
            throw new IllegalArgumentException("norm2: expected " + (mlp == null ? "null like mlp" : "an RmsNorm for the mlp")
                    + ", got " + norm2);
        }
        int d = mixer.modelDim();
        Backend b = mixer.backend();
        check("norm1", norm1.config().dim(), norm1.backend(), norm1.dtype(), d, b, norm1.dtype());
        if (mlp != null) {
            check("norm2", norm2.config().dim(), norm2.backend(), norm2.dtype(), d, b, norm1.dtype());
            check("mlp", mlp.config().modelDim(), mlp.backend(), mlp.dtype(), d, b, norm1.dtype());
        }
        this.norm1 = norm1;
        this.mixer = mixer;
        this.norm2 = norm2;
        this.mlp = mlp;
    }

    private static void check(String name, int dim, Backend backend, DType dtype, int d, Backend b, DType t) {
        if (dim != d) {
            throw new IllegalArgumentException(name + ": expected width d_model=" + d + " like the mixer, got " + dim);
        }
        if (backend != b) {
            throw new IllegalArgumentException(name + ": expected backend " + b.name() + " like the mixer, got "
                    + backend.name());
        }
        if (dtype != t) {
            throw new IllegalArgumentException(name + ": expected dtype " + t.label() + " like norm1, got "
                    + dtype.label());
        }
    }

    /**
     * Builds a block from checkpoint weights relative to the block ({@code norm1.weight}, {@code mixer.*}, ...).
     *
     * @param mlp the MLP's shape, or null for a block without one
     * @param normEps eps of both norms (1e-5 in the released models)
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit
     */
    public static Block load(Backend backend, DType dtype, WeightSource weights, MixerConfig mixer,
            SwiGluMlp.Config mlp, double normEps) {
        return load(backend, dtype, LayerSupport.sameAs(dtype), weights, mixer, mlp, normEps);
    }

    /**
     * Builds a block from checkpoint weights relative to the block, the mixer's projections and the MLP stored in
     * {@code format} (the compute type, bf16, f16 or int8 with scales), the norms in {@code dtype}.
     *
     * @param mlp the MLP's shape, or null for a block without one
     * @param normEps eps of both norms (1e-5 in the released models)
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit, or
     *     the format when it does not fit {@code dtype}
     * @throws UnsupportedOperationException when the backend does not take weights of the format
     */
    public static Block load(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            MixerConfig mixer, SwiGluMlp.Config mlp, double normEps) {
        LayerSupport.backend(backend);
        LayerSupport.dtype(dtype);
        LayerSupport.format(format, dtype);
        LayerSupport.weights(weights);
        if (mixer == null) {
            throw new IllegalArgumentException("mixer: expected a MixerConfig, got null");
        }
        RmsNorm.Config normConfig = new RmsNorm.Config(mixer.modelDim(), normEps);
        List<AutoCloseable> built = new ArrayList<>();
        try {
            RmsNorm n1 = add(built, RmsNorm.load(backend, dtype, weights.prefixed("norm1."), normConfig));
            Mixer m = add(built, mixer.load(backend, dtype, format, weights.prefixed("mixer.")));
            RmsNorm n2 = null;
            SwiGluMlp f = null;
            if (mlp != null) {
                n2 = add(built, RmsNorm.load(backend, dtype, weights.prefixed("norm2."), normConfig));
                f = add(built, SwiGluMlp.load(backend, dtype, format, weights.prefixed("mlp."), mlp));
            }
            return new Block(n1, m, n2, f);
        } catch (RuntimeException | Error e) {
            LayerSupport.closeAll(built);
            throw e;
        }
    }

    private static <T extends AutoCloseable> T add(List<AutoCloseable> built, T part) {
        built.add(part);
        return part;
    }

    /**
     * @return seeded random weights of a block under the names relative to it ({@code norm1.weight},
     *     {@code mixer.proj_q.weight}, ...), F32
     */
    public static Map<String, HostTensor> randomWeights(MixerConfig mixer, SwiGluMlp.Config mlp, long seed) {
        Objects.requireNonNull(mixer, "mixer");
        Map<String, HostTensor> w = new LinkedHashMap<>();
        RmsNorm.Config norm = RmsNorm.Config.of(mixer.modelDim());
        norm.randomWeights(seed * 31 + 1).forEach((k, v) -> w.put("norm1." + k, v));
        mixer.randomWeights(seed * 31 + 2).forEach((k, v) -> w.put("mixer." + k, v));
        if (mlp != null) {
            norm.randomWeights(seed * 31 + 3).forEach((k, v) -> w.put("norm2." + k, v));
            mlp.randomWeights(seed * 31 + 4).forEach((k, v) -> w.put("mlp." + k, v));
        }
        return w;
    }

    /** @return the sequence mixer */
    public Mixer mixer() {
        return mixer;
    }

    /** @return the MLP, or null for a block without one */
    public SwiGluMlp mlp() {
        return mlp;
    }

    /** @return d_model */
    public int modelDim() {
        return mixer.modelDim();
    }

    /** @return the backend holding the weights */
    public Backend backend() {
        return mixer.backend();
    }

    /** @return the element type of the weights */
    public DType dtype() {
        return norm1.dtype();
    }

    /** @return a fresh state of the mixer for {@code batch} sequences */
    public RecurrentState newState(int batch) {
        LayerSupport.open(closed, "block");
        return mixer.newState(batch);
    }

    /**
     * Runs the block over a prompt.
     *
     * @param residual the residual stream {@code [batch, seq, D]}; not modified
     * @param state the mixer's state, advanced by {@code seq}
     * @return the new residual stream, a new tensor the caller closes
     */
    public Tensor prefill(Tensor residual, RecurrentState state) {
        return run(residual, state, false);
    }

    /** One token: {@code residual [batch, 1, D]}; otherwise as {@link #prefill}. */
    public Tensor decode(Tensor residual, RecurrentState state) {
        return run(residual, state, true);
    }

    private Tensor run(Tensor residual, RecurrentState state, boolean decode) {
        LayerSupport.open(closed, "block");
        Backend b = backend();
        Tensor afterMixer;
        try (Tensor h1 = norm1.forward(residual);
                Tensor h = decode ? mixer.decode(h1, state) : mixer.prefill(h1, state)) {
            afterMixer = b.add(residual, h);
        }
        return withMlp(afterMixer);
    }

    /**
     * One decode step of independent sequences, each with a state of its own ({@code batch 1}, at its own position):
     * the norms and the MLP run over every row at once (the weights are read once for the whole batch), the mixer
     * once per sequence on its row.
     *
     * @param residual {@code [rows, 1, D]}, row {@code r} the token of the sequence whose state is {@code states[r]}
     * @return the new residual stream, a new tensor the caller closes
     */
    Tensor decodeRows(Tensor residual, List<RecurrentState> states) {
        LayerSupport.open(closed, "block");
        Backend b = backend();
        int rows = residual.shape().dim(0);
        Shape one = Shape.of(1, 1, residual.shape().dim(2));
        Tensor afterMixer;
        try (Tensor h1 = norm1.forward(residual);
                Tensor h = b.allocate(residual.shape(), residual.dtype());
                Tensor row = b.allocate(one, residual.dtype())) {
            for (int r = 0; r < rows; r++) {
                b.copyRows(h1, r, row, 0, 1);
                try (Tensor y = mixer.decode(row, states.get(r))) {
                    b.copyRows(y, 0, h, r, 1);
                }
            }
            afterMixer = b.add(residual, h);
        }
        return withMlp(afterMixer);
    }

    /** The block's second half on the stream after its mixer: {@code x + mlp(norm2(x))}; takes {@code afterMixer}. */
    private Tensor withMlp(Tensor afterMixer) {
        if (mlp == null) {
            return afterMixer;
        }
        try (Tensor r = afterMixer;
                Tensor h2 = norm2.forward(r);
                Tensor m = mlp.forward(h2)) {
            return backend().add(r, m);
        }
    }

    /** Frees the weights of every part. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LayerSupport.closeAll(Arrays.asList(norm1, mixer, norm2, mlp));
        }
    }

    @Override
    public String toString() {
        return "Block[" + mixer + (mlp == null ? "" : ", " + mlp) + "]";
    }
}
