package dev.based4j.model;

import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.Block;
import dev.based4j.layer.DecodePlan;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.RmsNorm;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.SwiGluMlp;
import dev.based4j.layer.WeightSource;
import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A BASED language model on one backend ({@code based-math.md} e): token embedding, blocks of
 * {@code RMSNorm → mixer → residual → RMSNorm → SwiGLU MLP → residual} with linear attention, sliding window or
 * BaseConv as the mixer of each layer, final RMSNorm and the LM head tied to the embedding. Weights are uploaded
 * once, in the element type chosen at load time; the model is immutable and may serve several threads as long as
 * each uses its own {@link LayerStack.State}.
 *
 * <p>Prefill takes a whole prompt and returns its logits; decode takes one token per sequence and continues from
 * the state. Prefill of {@code n} tokens then decode of {@code m} gives the logits of a prefill of {@code n + m}.
 * The state has a fixed size ({@link #stateBytes}) whatever the number of tokens.
 *
 * <p>Logits cover the padded vocabulary ({@link BasedConfig#paddedVocabSize()}), as the original model's do.
 */
public final class BasedModel implements AutoCloseable {
    /** Reports weight loading, for progress bars. */
    @FunctionalInterface
    public interface LoadListener {
        /**
         * Called after each tensor has been read and uploaded.
         *
         * @param name the tensor's checkpoint name
         * @param bytesDone bytes (in the model's element type) of the tensors done so far
         * @param bytesTotal bytes (in the model's element type) of all tensors the model reads
         */
        void loaded(String name, long bytesDone, long bytesTotal);
    }

    /**
     * Where the output of a model first stops being finite ({@link #locateNonFinite}).
     *
     * @param description the stage in words, with the checkpoint names of its weights, e.g. {@code block 3 (sliding
     *     window, weights transformer.layers.3.*)}
     * @param layer the block's index, or -1 for the embedding, the final norm and the head
     * @param position the first token (from 0) whose output at that stage is not finite
     */
    public record NonFiniteStage(String description, int layer, long position) {}

    /** The parts of the stack outside its blocks, which {@link LayerStack} does not hand out. */
    private record Ends(Tensor embedding, RmsNorm finalNorm, Tensor head) {}

    private final BasedConfig config;
    private final ModelFootprint footprint;
    private final LayerStack stack;
    private final AutoCloseable owned;
    private final Ends ends;

    private BasedModel(BasedConfig config, LayerStack stack, AutoCloseable owned, Ends ends) {
        this.config = config;
        this.footprint = ModelFootprint.of(config);
        this.stack = stack;
        this.owned = owned;
        this.ends = ends;
    }

    /**
     * Builds the model from weights by checkpoint name, uploaded once in F32 when the backend computes in F32,
     * else in F64. This is the entry point of the conformance kit's golden {@code tiny_lm} runner.
     *
     * @throws IllegalArgumentException when the backend cannot run models, or naming the tensor, the expected and
     *     the found shape when a weight is missing or does not fit
     */
    public static BasedModel fromWeights(Backend backend, BasedConfig config, WeightSource weights) {
        Objects.requireNonNull(backend, "backend");
        DType dtype = backend.capabilities().precisions().contains(DType.F32) ? DType.F32 : DType.F64;
        return fromWeights(backend, config, weights, dtype);
    }

    /**
     * Builds the model from weights by checkpoint name, uploaded once in {@code dtype}.
     *
     * @throws IllegalArgumentException when the backend cannot run models in {@code dtype}, or naming the tensor,
     *     the expected and the found shape when a weight is missing or does not fit
     */
    public static BasedModel fromWeights(Backend backend, BasedConfig config, WeightSource weights, DType dtype) {
        return build(backend, config, weights, dtype, null, null);
    }

    /**
     * Loads a checkpoint directory ({@code config.json} + safetensors, see {@link Checkpoint}). Every tensor's
     * presence and shape is checked against the config from the headers, and the weights, the state of one sequence
     * and one token's activations against the host-memory budget ({@link MemoryBudget}), before anything is read or
     * uploaded. Each weight is then read into memory this process owns and checked to be finite before it is handed
     * to the backend, so the model computes on exactly the bytes that were checked: the files are closed when the
     * load returns, and changing them afterwards changes nothing. A weight file modified while the load reads it is
     * refused.
     *
     * <p>Memory: the host copy of a weight is what the CPU backend computes on (it takes read-only host memory
     * without copying it again), so a 360M checkpoint takes its 1.45 GB once, in memory the process owns rather than
     * in the page cache; other backends copy each weight to their device, and its host copy is freed by the garbage
     * collector.
     *
     * @param listener progress per tensor, or null
     * @throws CheckpointException naming the file and the tensor or key that is wrong, or the keys, bytes and budget
     *     when the model does not fit in memory
     */
    public static BasedModel load(Path directory, Backend backend, DType dtype, LoadListener listener) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(dtype, "dtype");
        Checkpoint ck = Checkpoint.open(directory);
        try {
            BasedConfig config = ck.config();
            checkAgainstConfig(ck, config);
            ModelFootprint.of(config).requireFits(ck.directory().resolve(Checkpoint.CONFIG_FILE).toString(), config,
                    dtype, 1, 1);
            BasedModel model = build(backend, config, ck.weights(dtype), dtype, listener, null);
            try {
                ck.checkUnchanged();
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
            return model;
        } finally {
            ck.close();
        }
    }

    /** {@link #load(Path, Backend, DType, LoadListener)} without progress. */
    public static BasedModel load(Path directory, Backend backend, DType dtype) {
        return load(directory, backend, dtype, null);
    }

    /** Checks names and shapes from the headers only. */
    static void checkAgainstConfig(Checkpoint ck, BasedConfig config) {
        Map<String, Shape> expected = config.weightShapes();
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            var entry = ck.entry(e.getKey());
            if (entry.isEmpty()) {
                missing.add(e.getKey());
                continue;
            }
            List<Long> want = java.util.Arrays.stream(e.getValue().dims()).asLongStream().boxed().toList();
            if (!entry.get().shape().equals(want)) {
                throw new CheckpointException(ck.fileOf(e.getKey()).orElseThrow() + ": tensor '" + e.getKey()
                        + "' expected shape " + e.getValue() + " (from config.json), found " + entry.get().shapeText());
            }
            if (!entry.get().dtype().isFloatingPoint()) {
                throw new CheckpointException(ck.fileOf(e.getKey()).orElseThrow() + ": tensor '" + e.getKey()
                        + "' is " + entry.get().dtype() + "; weights must be F32, F64, F16 or BF16");
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException(ck.directory() + ": missing tensor '" + missing.get(0) + "' (expected shape "
                    + expected.get(missing.get(0)) + ")" + (missing.size() > 1 ? "; " + (missing.size() - 1)
                    + " more missing: " + missing.subList(1, Math.min(missing.size(), 6))
                    + (missing.size() > 6 ? " ..." : "") : ""));
        }
        Set<String> extra = new TreeSet<>(ck.tensorNames());
        extra.removeAll(expected.keySet());
        if (config.tieWordEmbeddings() && extra.remove("lm_head.weight")) {
            // PyTorch state dicts carry the tied head as its own key; it is the embedding, so it is not read
            var head = ck.entry("lm_head.weight").orElseThrow();
            Shape table = expected.get(LayerStack.EMBEDDING);
            if (head.shape().size() != 2 || head.shape().get(0) != table.dim(0) || head.shape().get(1) != table.dim(1)) {
                throw new CheckpointException(ck.fileOf("lm_head.weight").orElseThrow()
                        + ": tensor 'lm_head.weight' expected shape " + table + " like the tied embedding, found "
                        + head.shapeText());
            }
        }
        if (!extra.isEmpty()) {
            String first = extra.iterator().next();
            throw new CheckpointException(ck.fileOf(first).orElseThrow() + ": unexpected tensor '" + first + "' "
                    + ck.entry(first).orElseThrow().shapeText() + ": config.json describes no such weight, so the"
                    + " checkpoint is another model" + (extra.size() > 1 ? " (" + (extra.size() - 1) + " more)" : ""));
        }
    }

    private static BasedModel build(Backend backend, BasedConfig config, WeightSource weights, DType dtype,
            LoadListener listener, AutoCloseable owned) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(dtype, "dtype");
        if (!backend.capabilities().runsModels()) {
            throw new IllegalArgumentException("backend: " + backend.name() + " does not run whole models (its"
                    + " capabilities lack linear attention, sliding window, causal conv, plumbing or the Taylor map)");
        }
        if (!backend.capabilities().precisions().contains(dtype)) {
            throw new IllegalArgumentException("dtype: backend " + backend.name() + " computes in "
                    + backend.capabilities().precisions() + ", not " + dtype.label());
        }
        ModelFootprint.of(config).requireFits("config", config, dtype, 1, 1);
        WeightSource source = weights;
        if (listener != null) {
            long[] done = {0};
            long total = config.parameterCount() * dtype.byteSize();
            source = name -> {
                HostTensor t = weights.get(name);
                done[0] += t.shape().elementCount() * dtype.byteSize();
                listener.loaded(name, Math.min(done[0], total), total);
                return t;
            };
        }
        return assemble(backend, dtype, source, config, owned);
    }

    /**
     * Builds the stack from its parts, as {@link LayerStack#load} does, keeping the embedding, the final norm and the
     * head at hand: {@link #locateNonFinite} runs them one by one.
     */
    private static BasedModel assemble(Backend backend, DType dtype, WeightSource weights, BasedConfig config,
            AutoCloseable owned) {
        LayerStack.Config sc = stackConfig(config);
        int d = sc.modelDim();
        Shape table = Shape.of(sc.vocabSize(), d);
        List<AutoCloseable> built = new ArrayList<>();
        try {
            Tensor embedding = upload(backend, dtype, weights, LayerStack.EMBEDDING, table);
            built.add(embedding);
            Tensor head = embedding;
            if (!sc.tiedHead()) {
                head = upload(backend, dtype, weights, LayerStack.HEAD, table);
                built.add(head);
            }
            List<Block> blocks = new ArrayList<>();
            for (int i = 0; i < sc.mixers().size(); i++) {
                Block b = Block.load(backend, dtype, weights.prefixed(LayerStack.LAYER_PREFIX + i + "."),
                        sc.mixers().get(i), sc.mlp(), sc.normEps());
                built.add(b);
                blocks.add(b);
            }
            String normPrefix = LayerStack.FINAL_NORM.substring(0, LayerStack.FINAL_NORM.length() - "weight".length());
            RmsNorm norm = RmsNorm.load(backend, dtype, weights.prefixed(normPrefix), new RmsNorm.Config(d, sc.normEps()));
            built.add(norm);
            LayerStack stack = new LayerStack(embedding, blocks, norm, head);
            return new BasedModel(config, stack, owned, new Ends(embedding, norm, head));
        } catch (RuntimeException | Error e) {
            for (int i = built.size() - 1; i >= 0; i--) {
                try {
                    built.get(i).close();
                } catch (Exception | Error suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static Tensor upload(Backend backend, DType dtype, WeightSource weights, String name, Shape expected) {
        HostTensor t = weights.get(name);
        if (t == null) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' is missing (the source returned null)");
        }
        if (!t.shape().equals(expected)) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected shape " + expected + ", found "
                    + t.shape());
        }
        return backend.upload(t.dtype() == dtype ? t : t.to(dtype));
    }

    /**
     * A model with seeded random weights (PyTorch's default initialisation, as {@link LayerStack#randomWeights}): the
     * same seed gives the same weights on every backend. For demos, tests and throughput measurements.
     */
    public static BasedModel random(Backend backend, BasedConfig config, long seed, DType dtype) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(dtype, "dtype");
        // the random weights are made on the host before anything else: check they fit first
        ModelFootprint.of(config).requireFits("config", config, dtype, 1, 1);
        return fromWeights(backend, config, WeightSource.of(LayerStack.randomWeights(stackConfig(config), seed)), dtype);
    }

    /** @return the layer-stack configuration of {@code config}: one mixer per layer, SwiGLU MLP, tied head */
    public static LayerStack.Config stackConfig(BasedConfig config) {
        Objects.requireNonNull(config, "config");
        int d = config.modelDim();
        List<MixerConfig> mixers = new ArrayList<>();
        for (int i = 0; i < config.layerCount(); i++) {
            mixers.add(switch (config.mixer(i)) {
                case LINEAR_ATTENTION -> {
                    BasedConfig.LinearAttention la = config.linearAttention();
                    yield new LinearAttentionLayer.Config(d, la.heads(), la.headDim(), la.spec());
                }
                case SLIDING_WINDOW -> {
                    BasedConfig.SlidingWindow sw = config.slidingWindow();
                    yield new SlidingWindowLayer.Config(d, sw.heads(), sw.spec(i), sw.rotaryDim(), sw.rotaryBase(),
                            sw.qkvBias(), sw.outBias(), Math.max(1, sw.lookback() + 1));
                }
                case BASE_CONV -> new BaseConvLayer.Config(config.baseConv().spec(d));
            });
        }
        return new LayerStack.Config(config.paddedVocabSize(), mixers, new SwiGluMlp.Config(d, config.mlp().hidden()),
                config.normEps(), config.tieWordEmbeddings());
    }

    /** @return the architecture */
    public BasedConfig config() {
        return config;
    }

    /** @return the backend holding the weights */
    public Backend backend() {
        return stack.backend();
    }

    /** @return the element type of weights and activations */
    public DType dtype() {
        return stack.dtype();
    }

    /** @return the underlying blocks, embedding and head */
    public LayerStack stack() {
        return stack;
    }

    /**
     * @return a fresh state for {@code batch} sequences that start together; close it when done
     * @throws IllegalArgumentException when {@code batch} is below 1, or naming the keys, bytes and budget when the
     *     state of that many sequences does not fit the host-memory budget ({@link MemoryBudget})
     */
    public LayerStack.State newState(int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch: expected >= 1, got " + batch);
        }
        footprint.requireFits("batch " + batch, config, dtype(), batch, 1);
        return stack.newState(batch);
    }

    /** @return bytes of backend memory the decode state of {@code batch} sequences occupies, whatever their length */
    public long stateBytes(int batch) {
        try (LayerStack.State s = newState(batch)) {
            return s.sizeInBytes();
        }
    }

    /**
     * Runs a prompt of {@code seq} tokens per sequence, continuing from {@code state}.
     *
     * @param ids {@code batch·seq} token ids, row-major {@code [batch, seq]}, each in {@code [0, paddedVocabSize)}
     * @return logits {@code [batch, seq, paddedVocabSize]}, a backend tensor the caller closes
     */
    public Tensor prefill(int[] ids, int batch, int seq, LayerStack.State state) {
        if (batch >= 1 && seq >= 1) {
            footprint.requireFits("prefill of " + batch + " x " + seq + " tokens", config, dtype(), batch, seq);
        }
        return stack.prefill(ids, batch, seq, state);
    }

    /**
     * Prefill that keeps each sequence's last logits only ({@link LayerStack#prefillLast}), as generation needs them.
     *
     * @return logits {@code [batch, 1, paddedVocabSize]}, a new tensor the caller closes
     */
    public Tensor prefillLast(int[] ids, int batch, int seq, LayerStack.State state) {
        if (batch >= 1 && seq >= 1) {
            footprint.requireFits("prefill of " + batch + " x " + seq + " tokens", config, dtype(), batch, seq);
        }
        return stack.prefillLast(ids, batch, seq, state);
    }

    /**
     * Plans the decode steps of {@code state} ({@link LayerStack#planDecode(LayerStack.State)}): after the first step,
     * each one replays the recorded kernel calls with no validation and no allocation.
     */
    public DecodePlan planDecode(LayerStack.State state) {
        return stack.planDecode(state);
    }

    /**
     * One decode step: token {@code ids[b]} for sequence {@code b}.
     *
     * @return logits {@code [batch, 1, paddedVocabSize]}, a backend tensor the caller closes
     */
    public Tensor decode(int[] ids, LayerStack.State state) {
        return stack.decode(ids, state);
    }

    /**
     * Logits of whole sequences from a fresh state, on the host.
     *
     * @param ids {@code batch·seq} token ids, row-major
     * @return {@code [batch, seq, paddedVocabSize]}
     */
    public HostTensor logits(int[] ids, int batch, int seq) {
        try (LayerStack.State s = newState(batch);
                Tensor out = prefill(ids, batch, seq, s)) {
            return backend().download(out);
        }
    }

    /**
     * Finds where the model's output first stops being finite for a sequence: re-runs {@code ids} from a fresh state,
     * in chunks of {@link Generator#PREFILL_CHUNK} tokens, through the embedding, each block in turn, the final norm
     * and the head, and names the first stage (and token) whose output holds a NaN or an infinity. This is the
     * diagnosis of a failure, as costly as a prefill of {@code ids} plus a download of every stage's output; the
     * generator runs it only when logits are not finite.
     *
     * @param ids one sequence of token ids, each in {@code [0, paddedVocabSize)}
     * @return the first stage whose output is not finite, or empty when every stage's output is finite
     * @throws IllegalArgumentException for an empty sequence or an id out of range
     */
    public Optional<NonFiniteStage> locateNonFinite(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        if (ids.length == 0) {
            throw new IllegalArgumentException("ids: expected at least one token id, got none");
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.paddedVocabSize()) {
                throw new IllegalArgumentException("ids: id " + ids[i] + " at position " + i
                        + " is not a token id in [0, " + config.paddedVocabSize() + ")");
            }
        }
        Backend b = backend();
        List<Block> blocks = stack.blocks();
        List<RecurrentState> states = new ArrayList<>();
        try {
            for (Block block : blocks) {
                states.add(block.newState(1));
            }
            for (int from = 0; from < ids.length; from += Generator.PREFILL_CHUNK) {
                int len = Math.min(Generator.PREFILL_CHUNK, ids.length - from);
                int[] chunk = java.util.Arrays.copyOfRange(ids, from, from + len);
                Tensor x = b.embedding(ends.embedding(), chunk, 1, len);
                try {
                    long bad = firstNonFiniteRow(x);
                    if (bad >= 0) {
                        return Optional.of(new NonFiniteStage("the token embedding (weights " + LayerStack.EMBEDDING
                                + ")", -1, from + bad));
                    }
                    for (int i = 0; i < blocks.size(); i++) {
                        Tensor next = blocks.get(i).prefill(x, states.get(i));
                        x.close();
                        x = next;
                        bad = firstNonFiniteRow(x);
                        if (bad >= 0) {
                            return Optional.of(new NonFiniteStage("block " + i + " (" + mixerName(blocks.get(i))
                                    + ", weights " + LayerStack.LAYER_PREFIX + i + ".*)", i, from + bad));
                        }
                    }
                    try (Tensor h = ends.finalNorm().forward(x)) {
                        bad = firstNonFiniteRow(h);
                        if (bad >= 0) {
                            return Optional.of(new NonFiniteStage("the final norm (weights " + LayerStack.FINAL_NORM
                                    + ")", -1, from + bad));
                        }
                        try (Tensor logits = b.linear(h, ends.head(), null)) {
                            bad = firstNonFiniteRow(logits);
                            if (bad >= 0) {
                                return Optional.of(new NonFiniteStage("the LM head (weights " + (config.tieWordEmbeddings()
                                        ? LayerStack.EMBEDDING + ", tied" : LayerStack.HEAD) + ")", -1, from + bad));
                            }
                        }
                    }
                } finally {
                    x.close();
                }
            }
            return Optional.empty();
        } finally {
            for (RecurrentState s : states) {
                s.close();
            }
        }
    }

    /** @return the first row (token) of {@code t [1, seq, width]} holding a value that is not finite, or -1 */
    private long firstNonFiniteRow(Tensor t) {
        HostTensor host = backend().download(t);
        long width = t.shape().dim(-1);
        long n = host.shape().elementCount();
        for (long i = 0; i < n; i++) {
            if (!Double.isFinite(host.getDouble(i))) {
                return i / width;
            }
        }
        return -1;
    }

    private static String mixerName(Block block) {
        return switch (block.mixer()) {
            case LinearAttentionLayer l -> "linear attention";
            case SlidingWindowLayer w -> "sliding window";
            case BaseConvLayer c -> "BaseConv";
            default -> block.mixer().getClass().getSimpleName();
        };
    }

    /** Frees the weights and unmaps the checkpoint it was loaded from. Idempotent. */
    @Override
    public void close() {
        try {
            stack.close();
        } finally {
            if (owned != null) {
                try {
                    owned.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing the checkpoint failed", e);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "BasedModel[" + config.layerCount() + " layers, d_model " + config.modelDim() + ", vocab "
                + config.paddedVocabSize() + ", " + dtype().label() + " on " + backend().name() + "]";
    }
}
