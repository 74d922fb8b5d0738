package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.StateSnapshot;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A stack of {@link Block}s with a final RMSNorm, optionally between a token embedding and a language-model head
 * (tied to the embedding as in BASED, or separate): {@code logits = ln_f(blocks(embed(ids)))·headᵀ}. Each block
 * has its own mixer, so linear attention, sliding window and BaseConv can be interleaved by layer index.
 *
 * <p>Checkpoint names ({@link #load}): {@code transformer.embeddings.word_embeddings.weight [vocab, D]},
 * {@code transformer.layers.i.} + the {@link Block} names, {@code transformer.ln_f.weight [D]}, and
 * {@code lm_head.weight [vocab, D]} when the head is not tied.
 */
public final class LayerStack implements AutoCloseable {
    /** Name of the token embedding in the released checkpoints. */
    public static final String EMBEDDING = "transformer.embeddings.word_embeddings.weight";
    /** Prefix of block {@code i}'s weights: this + i + ".". */
    public static final String LAYER_PREFIX = "transformer.layers.";
    /** Name of the final norm's weight. */
    public static final String FINAL_NORM = "transformer.ln_f.weight";
    /** Name of an untied head. */
    public static final String HEAD = "lm_head.weight";

    /**
     * Shape of a stack.
     *
     * @param vocabSize rows of the embedding and of the head (the padded vocabulary of a checkpoint), or 0 for a
     *     stack without embedding and head that maps hidden states to hidden states
     * @param mixers one per block, by layer index
     * @param mlp the MLP of every block, or null for blocks without one
     * @param normEps eps of every RMSNorm
     * @param tiedHead whether the head is the embedding matrix (BASED) rather than its own {@code lm_head.weight}
     */
    public record Config(int vocabSize, List<MixerConfig> mixers, SwiGluMlp.Config mlp, double normEps,
            boolean tiedHead) {
        /** Validates and copies. */
        public Config {
            if (vocabSize < 0) {
                throw new IllegalArgumentException("vocabSize: expected >= 0 (0 = no embedding and head), got "
                        + vocabSize);
            }
            if (mixers == null || mixers.isEmpty()) {
                throw new IllegalArgumentException("mixers: expected at least one mixer configuration, got "
                        + mixers);
            }
            mixers = List.copyOf(mixers);
            int d = mixers.get(0).modelDim();
            for (int i = 0; i < mixers.size(); i++) {
                if (mixers.get(i).modelDim() != d) {
                    throw new IllegalArgumentException("mixers: layer " + i + " has d_model=" + mixers.get(i).modelDim()
                            + ", expected " + d + " like layer 0");
                }
            }
            if (mlp != null && mlp.modelDim() != d) {
                throw new IllegalArgumentException("mlp: expected d_model=" + d + ", got " + mlp.modelDim());
            }
            new RmsNorm.Config(d, normEps);
        }

        /**
         * A BASED stack interleaved like the released models ({@code based-math.md} e): linear attention at
         * layers 1, 6, 11, ... ({@code i mod 5 = 1}), sliding window at 2, 7, 12, ... ({@code i mod 5 = 2}),
         * BaseConv elsewhere; SwiGLU MLPs of hidden width {@code roundedHidden(2·D, 256)}; RMSNorm eps 1e-5; tied
         * head. (The released checkpoints list their layer indices explicitly and stop the pattern early; load
         * those from their config rather than from this pattern.)
         *
         * @param lookback previous tokens of each sliding window (a released {@code window_size W} is {@code W/2})
         */
        public static Config based(int vocabSize, int modelDim, int layers, int heads, int featureDim, int lookback) {
            LayerSupport.positive("vocabSize", vocabSize);
            LayerSupport.positive("layers", layers);
            List<MixerConfig> mixers = new ArrayList<>();
            for (int i = 0; i < layers; i++) {
                mixers.add(switch (i % 5) {
                    case 1 -> LinearAttentionLayer.Config.of(modelDim, heads, featureDim);
                    case 2 -> SlidingWindowLayer.Config.of(modelDim, heads, lookback);
                    default -> BaseConvLayer.Config.of(modelDim);
                });
            }
            return new Config(vocabSize, mixers,
                    new SwiGluMlp.Config(modelDim, SwiGluMlp.roundedHidden(2 * modelDim, 256)), RmsNorm.DEFAULT_EPS,
                    true);
        }

        /** @return d_model */
        public int modelDim() {
            return mixers.get(0).modelDim();
        }
    }

    private final Weight embedding;
    private final List<Block> blocks;
    private final RmsNorm finalNorm;
    private final Weight head;
    private volatile boolean closed;

    /**
     * Assembles a stack from parts on one backend; the stack owns them from now on.
     *
     * @param embedding {@code [vocab, D]}, or null when the stack takes hidden states
     * @param blocks at least one, all of one width, backend and type
     * @param finalNorm the final RMSNorm
     * @param head {@code [vocab, D]} (may be {@code embedding} itself: tied), or null for hidden states out
     * @throws IllegalArgumentException naming the part that does not fit
     */
    public LayerStack(Tensor embedding, List<Block> blocks, RmsNorm finalNorm, Tensor head) {
        this(wrap(embedding), blocks, finalNorm, head == embedding ? null : wrap(head), head == embedding);
    }

    /** Wraps a table of the compute type. */
    private static Weight wrap(Tensor t) {
        return t == null ? null : Weight.of(t);
    }

    /**
     * Assembles a stack from parts on one backend whose embedding and head may be stored in a reduced format
     * ({@link Weight}: bf16, f16, int8 with scales in the blocks' type); the stack owns them from now on.
     *
     * @param embedding {@code [vocab, D]}, or null when the stack takes hidden states
     * @param blocks at least one, all of one width, backend and type
     * @param finalNorm the final RMSNorm
     * @param head {@code [vocab, D]} (the very {@code embedding} object when tied), or null for hidden states out
     * @throws IllegalArgumentException naming the part that does not fit
     */
    public LayerStack(Weight embedding, List<Block> blocks, RmsNorm finalNorm, Weight head) {
        this(embedding, blocks, finalNorm, head, false);
    }

    /** @param tied whether the head is the embedding itself (then {@code head} is ignored): one weight, closed once */
    private LayerStack(Weight embedding, List<Block> blocks, RmsNorm finalNorm, Weight head, boolean tied) {
        if (tied) {
            head = embedding;
        }
        StackAssembly.checkParts(embedding, blocks, finalNorm, head);
        this.embedding = embedding;
        this.blocks = List.copyOf(blocks);
        this.finalNorm = finalNorm;
        this.head = head;
    }

    /**
     * Builds a stack from checkpoint weights (names in the class comment), uploaded once in {@code dtype}.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit
     */
    public static LayerStack load(Backend backend, DType dtype, WeightSource weights, Config config) {
        return load(backend, dtype, LayerSupport.sameAs(dtype), weights, config);
    }

    /**
     * Builds a stack from checkpoint weights, every projection, MLP weight, the embedding and the head stored in
     * {@code format} (read tensor by tensor: a reduced format never needs a float copy of the whole stack), the norms,
     * biases and convolutions in {@code dtype}, which is also the type of every activation, state and sum.
     *
     * @throws IllegalArgumentException naming the tensor, the expected and the found shape when one does not fit, or
     *     the format when it does not fit {@code dtype}
     * @throws UnsupportedOperationException when the backend does not take weights of the format
     */
    public static LayerStack load(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            Config config) {
        return StackAssembly.load(backend, dtype, format, weights, config);
    }

    /**
     * @return seeded random weights of a whole stack under the checkpoint names, F32; the embedding is
     *     N(0, 1)-like (U(−√3, √3)) so that the residual stream starts at unit scale
     */
    public static Map<String, HostTensor> randomWeights(Config config, long seed) {
        return RandomStackWeights.all(LayerSupport.config(config), seed);
    }

    /**
     * @return the {@link #randomWeights seeded random weights} as a source that makes each tensor when it is asked for
     *     (a block's weights at a time), so that a stack built from it never holds a float copy of all its weights
     */
    public static WeightSource randomSource(Config config, long seed) {
        return new RandomStackWeights(LayerSupport.config(config), seed);
    }

    /** Builds a stack with {@link #randomWeights seeded random weights}. */
    public static LayerStack random(Backend backend, DType dtype, Config config, long seed) {
        return random(backend, dtype, LayerSupport.sameAs(dtype), config, seed);
    }

    /** Builds a stack with {@link #randomWeights seeded random weights}, its matrices stored in {@code format}. */
    public static LayerStack random(Backend backend, DType dtype, WeightFormat format, Config config, long seed) {
        return load(backend, dtype, format, randomSource(config, seed), config);
    }

    /** @return the blocks, by layer index */
    public List<Block> blocks() {
        return blocks;
    }

    /** @return d_model */
    public int modelDim() {
        return blocks.get(0).modelDim();
    }

    /** @return rows of the embedding (or of the head), 0 when the stack has neither */
    public int vocabSize() {
        Weight t = embedding != null ? embedding : head;
        return t == null ? 0 : t.shape().dim(0);
    }

    /** @return the backend holding the weights */
    public Backend backend() {
        return blocks.get(0).backend();
    }

    /** @return the element type of the activations, states and norms (and of weights stored in a compute type) */
    public DType dtype() {
        return blocks.get(0).dtype();
    }

    /** @return fresh states of every block for {@code batch} sequences */
    public State newState(int batch) {
        LayerSupport.open(closed, "layer stack");
        LayerSupport.positive("batch", batch);
        List<RecurrentState> states = new ArrayList<>();
        try {
            for (Block b : blocks) {
                states.add(b.newState(batch));
            }
            return new State(states);
        } catch (RuntimeException | Error e) {
            LayerSupport.closeAll(states);
            throw e;
        }
    }

    /**
     * Runs hidden states through every block and the final norm.
     *
     * @param x {@code [batch, seq, D]}; not modified
     * @param decode whether this is one decode step ({@code seq = 1}, decode kernels) rather than a prefill
     * @return the normalised hidden states {@code [batch, seq, D]}, a new tensor the caller closes
     */
    public Tensor hidden(Tensor x, State state, boolean decode) {
        LayerSupport.open(closed, "layer stack");
        checkState(state);
        Tensor residual = x;
        try {
            for (int i = 0; i < blocks.size(); i++) {
                Block b = blocks.get(i);
                Tensor next = decode ? b.decode(residual, state.layer(i)) : b.prefill(residual, state.layer(i));
                if (residual != x) {
                    residual.close();
                }
                residual = next;
            }
            return finalNorm.forward(residual);
        } finally {
            if (residual != x) {
                residual.close();
            }
        }
    }

    /**
     * Prefill of token ids: embedding, blocks, final norm and head.
     *
     * @param ids {@code batch·seq} token ids, row-major {@code [batch, seq]}
     * @return logits {@code [batch, seq, vocab]}, a new tensor the caller closes
     * @throws IllegalStateException when the stack has no embedding or no head
     */
    public Tensor prefill(int[] ids, int batch, int seq, State state) {
        return tokens(ids, batch, seq, state, false);
    }

    /**
     * One decode step: one token id per sequence.
     *
     * @return logits {@code [batch, 1, vocab]}, a new tensor the caller closes
     */
    public Tensor decode(int[] ids, State state) {
        if (ids == null) {
            throw new IllegalArgumentException("ids: expected one token id per sequence, got null");
        }
        return tokens(ids, ids.length, 1, state, true);
    }

    /**
     * Prefill of token ids that keeps only each sequence's last logits, as generation needs them: the head runs on
     * {@code batch} rows instead of {@code batch·seq}.
     *
     * @return logits {@code [batch, 1, vocab]} of each sequence's last token, a new tensor the caller closes
     * @throws IllegalStateException when the stack has no embedding or no head
     */
    public Tensor prefillLast(int[] ids, int batch, int seq, State state) {
        LayerSupport.open(closed, "layer stack");
        StackSteps.checkTokens(this, ids, batch, seq);
        return StackSteps.prefillLast(this, embedding, head, ids, batch, seq, state);
    }

    /**
     * One decode step of independent sequences, each with a state of its own made by {@code newState(1)} and at its
     * own position (continuous batching): the embedding, norms, MLPs and head run over all of them at once, each
     * mixer once per sequence. Needs a backend with {@link Backend#copyRows}.
     *
     * @param ids one token id per sequence, {@code ids[r]} for {@code states.get(r)}
     * @return logits {@code [sequences, 1, vocab]}, row {@code r} for {@code states.get(r)}; a new tensor the caller
     *     closes
     * @throws IllegalArgumentException naming the argument when the sizes do not agree or a state is not a batch-1
     *     state of this stack
     */
    public Tensor decode(int[] ids, List<State> states) {
        LayerSupport.open(closed, "layer stack");
        StackSteps.checkRows(this, ids, states);
        return StackSteps.decodeRows(this, embedding, finalNorm, head, ids, states);
    }

    /**
     * Plans the decode steps of {@code state}: the first {@link DecodePlan#step} runs like {@link #decode(int[],
     * State)} and records its kernel calls; the following ones replay them with no validation and no allocation.
     */
    public DecodePlan planDecode(State state) {
        LayerSupport.open(closed, "layer stack");
        checkState(state);
        return new DecodePlan(this, List.of(state), false);
    }

    /**
     * Plans the decode steps of independent sequences ({@link #decode(int[], List)}): one planned step advances every
     * state by one token. Sequences join or leave by making a new plan.
     */
    public DecodePlan planDecode(List<State> states) {
        LayerSupport.open(closed, "layer stack");
        StackSteps.checkStates(this, states);
        return new DecodePlan(this, states, true);
    }

    /**
     * Plans steps of hidden states over one input tensor ({@link HiddenPlan}): the first step runs {@link #hidden}
     * and records its kernel calls, later ones replay them.
     *
     * @param x {@code [batch, seq, D]} of the stack's backend and type; the plan reads it at every step
     * @param decode whether the steps are decode steps ({@code seq = 1}, decode kernels)
     */
    public HiddenPlan planHidden(State state, Tensor x, boolean decode) {
        LayerSupport.open(closed, "layer stack");
        checkState(state);
        LayerSupport.input("x", x, backend(), dtype(), modelDim(), decode);
        return new HiddenPlan(this, state, x, decode);
    }

    boolean isClosed() {
        return closed;
    }

    private Tensor tokens(int[] ids, int batch, int seq, State state, boolean decode) {
        LayerSupport.open(closed, "layer stack");
        StackSteps.checkTokens(this, ids, batch, seq);
        Backend b = backend();
        try (Tensor x = b.embedding(embedding, ids, batch, seq, dtype());
                Tensor h = hidden(x, state, decode)) {
            return b.linear(h, head, null);
        }
    }

    boolean hasTokens() {
        return embedding != null && head != null;
    }

    void checkState(State state) {
        StackStates.check(this, state);
    }

    /** Frees every weight. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            List<AutoCloseable> parts = new ArrayList<>(blocks);
            parts.add(finalNorm);
            parts.add(embedding);
            if (head != embedding) {
                parts.add(head);
            }
            LayerSupport.closeAll(parts);
        }
    }

    @Override
    public String toString() {
        return "LayerStack[" + blocks.size() + " blocks, d_model " + modelDim() + ", vocab " + vocabSize() + ", "
                + dtype().label() + (embedding != null && embedding.type() != dtype() ? ", " + new WeightFormat(
                        embedding.type(), embedding.groupSize()).label() + " weights" : "") + " on "
                + backend().name() + "]";
    }

    /**
     * The states of every block of a stack, by layer index. Snapshots go through
     * {@link dev.based4j.state.StateFormat} like single states; {@link #restore} resumes them on any backend.
     */
    public static final class State implements AutoCloseable {
        private final List<RecurrentState> layers;

        private State(List<RecurrentState> layers) {
            this.layers = Collections.unmodifiableList(new ArrayList<>(layers));
        }

        /** @return the state of block {@code i} */
        public RecurrentState layer(int i) {
            if (i < 0 || i >= layers.size()) {
                throw new IllegalArgumentException("i: expected a layer index in 0.." + (layers.size() - 1) + ", got " + i);
            }
            return layers.get(i);
        }

        /** @return every layer's state, by index */
        public List<RecurrentState> layers() {
            return layers;
        }

        /** @return tokens consumed so far */
        public long position() {
            return layers.get(0).position();
        }

        /** @return bytes of backend memory all layer states occupy */
        public long sizeInBytes() {
            return layers.stream().mapToLong(RecurrentState::sizeInBytes).sum();
        }

        /** @return host copies of every layer's state, by index, for {@link dev.based4j.state.StateFormat} */
        public List<StateSnapshot> snapshots() {
            return layers.stream().map(RecurrentState::snapshot).toList();
        }

        /**
         * Restores saved layer states onto {@code stack}'s backend and type.
         *
         * @throws IllegalArgumentException when the number or kinds of the snapshots do not fit the stack
         */
        public static State restore(LayerStack stack, List<StateSnapshot> snapshots) {
            if (stack == null) {
                throw new IllegalArgumentException("stack: expected a LayerStack, got null");
            }
            if (snapshots == null || snapshots.size() != stack.blocks.size()) {
                throw new IllegalArgumentException("snapshots: expected " + stack.blocks.size()
                        + " layer states, got " + (snapshots == null ? "null" : snapshots.size()));
            }
            return new State(StackStates.restore(stack, snapshots));
        }

        /** Frees every layer's state. Idempotent. */
        @Override
        public void close() {
            LayerSupport.closeAll(layers);
        }
    }
}
