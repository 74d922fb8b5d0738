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
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
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
 * once, in the element type chosen at load time, the matrices (every projection, the MLP, the embedding and the
 * tied head) in the {@link WeightFormat} chosen with it (bf16, f16 or int8 read half or a quarter of the bytes per
 * token; activations, states and sums stay in the element type); the model is immutable and may serve several
 * threads as long as each uses its own {@link LayerStack.State}.
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
    private record Ends(Weight embedding, RmsNorm finalNorm, Weight head) {}

    private final BasedConfig config;
    private final ModelFootprint footprint;
    private final LayerStack stack;
    private final AutoCloseable owned;
    private final Ends ends;
    private final WeightFormat format;

    private BasedModel(BasedConfig config, LayerStack stack, AutoCloseable owned, Ends ends, WeightFormat format) {
        this.config = config;
        this.footprint = ModelFootprint.of(config);
        this.stack = stack;
        this.owned = owned;
        this.ends = ends;
        this.format = format;
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
        return fromWeights(backend, config, weights, dtype, WeightFormat.of(dtype));
    }

    /**
     * Builds the model from weights by checkpoint name, the matrices stored in {@code format} (converted from the
     * source's floats one tensor at a time, or taken as the source stores them), everything else in {@code dtype}.
     *
     * @throws IllegalArgumentException when the backend cannot run models in {@code dtype} or does not take weights
     *     of {@code format}, the format does not fit {@code dtype}, or naming the tensor, the expected and the found
     *     shape when a weight is missing or does not fit
     */
    public static BasedModel fromWeights(Backend backend, BasedConfig config, WeightSource weights, DType dtype,
            WeightFormat format) {
        return build(backend, config, weights, dtype, format, null, null);
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
        return load(directory, backend, dtype, null, listener);
    }

    /**
     * {@link #load(Path, Backend, DType, LoadListener)} with the matrices (every projection, the MLP, the embedding and
     * the head) stored in {@code format}: each is read from the files straight into that format, one tensor at a time
     * (a BF16 file read as bf16 as is, an F32 file rounded or quantized a chunk at a time), so the load never holds a
     * float copy of the whole model. A quantized checkpoint ({@link Checkpoint#quantization}) loads only in its own
     * format.
     *
     * @param format how to store the matrices, or null for the checkpoint's own quantization if it has one, else
     *     {@code dtype}
     * @throws CheckpointException as the other form, or naming the tensor stored in another format than asked
     * @throws IllegalArgumentException when the backend does not take weights of {@code format} or the format does not
     *     fit {@code dtype}
     */
    public static BasedModel load(Path directory, Backend backend, DType dtype, WeightFormat format,
            LoadListener listener) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(dtype, "dtype");
        Checkpoint ck = Checkpoint.open(directory);
        try {
            BasedConfig config = ck.config();
            checkAgainstConfig(ck, config);
            WeightFormat f = format != null ? format : ck.quantization().orElse(WeightFormat.of(dtype));
            f.requireFits(dtype);
            ModelFootprint.of(config).requireFits(ck.directory().resolve(Checkpoint.CONFIG_FILE).toString(), config,
                    dtype, f, 1, 1);
            BasedModel model = build(backend, config, ck.weights(dtype), dtype, f, listener, null);
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
        return load(directory, backend, dtype, null, null);
    }

    /** {@link #load(Path, Backend, DType, WeightFormat, LoadListener)} without progress. */
    public static BasedModel load(Path directory, Backend backend, DType dtype, WeightFormat format) {
        return load(directory, backend, dtype, format, null);
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
            checkStored(ck, e.getKey(), e.getValue(), entry.get());
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException(ck.directory() + ": missing tensor '" + missing.get(0) + "' (expected shape "
                    + expected.get(missing.get(0)) + ")" + (missing.size() > 1 ? "; " + (missing.size() - 1)
                    + " more missing: " + missing.subList(1, Math.min(missing.size(), 6))
                    + (missing.size() > 6 ? " ..." : "") : ""));
        }
        Set<String> extra = new TreeSet<>(ck.tensorNames());
        extra.removeAll(expected.keySet());
        if (ck.quantization().isPresent()) {
            expected.forEach((name, shape) -> {
                if (shape.rank() == 2) {
                    extra.remove(name + WeightSource.SCALES);
                }
            });
        }
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

    /**
     * Checks how a tensor is stored: matrices of a quantized checkpoint are I8 with scales of their shape, everything
     * else (and every tensor of a checkpoint that is not quantized) floating point.
     */
    private static void checkStored(Checkpoint ck, String name, Shape shape, SafetensorsFile.Entry entry) {
        String file = ck.fileOf(name).orElseThrow().toString();
        var quantized = ck.quantization();
        if (quantized.isPresent() && shape.rank() == 2) {
            WeightFormat q = quantized.get();
            String scales = name + WeightSource.SCALES;
            if (entry.dtype() != SafetensorsFile.StoredType.I8) {
                throw new CheckpointException(file + ": tensor '" + name + "' is " + entry.dtype() + ", but the"
                        + " checkpoint is quantized as " + q.label() + " (__metadata__." + Checkpoint.QUANTIZATION
                        + ") and expects I8 values with their scales '" + scales + "'");
            }
            var se = ck.entry(scales).orElseThrow(() -> new CheckpointException(ck.directory() + ": missing tensor '"
                    + scales + "', the scales of the I8 values '" + name + "'"));
            List<Long> want = q.groupSize() == 0 ? List.of((long) shape.dim(0))
                    : List.of((long) shape.dim(0), (long) shape.dim(1) / q.groupSize());
            if (!se.shape().equals(want) || q.groupSize() != 0 && shape.dim(1) % q.groupSize() != 0) {
                throw new CheckpointException(ck.fileOf(scales).orElseThrow() + ": tensor '" + scales + "' expected"
                        + " shape " + want + " (" + q.label() + " scales of " + name + " " + shape + "), found "
                        + se.shapeText());
            }
            if (se.dtype() != SafetensorsFile.StoredType.F32 && se.dtype() != SafetensorsFile.StoredType.F64) {
                throw new CheckpointException(ck.fileOf(scales).orElseThrow() + ": tensor '" + scales + "' is "
                        + se.dtype() + "; scales must be F32 or F64");
            }
            return;
        }
        if (!entry.dtype().isFloatingPoint()) {
            throw new CheckpointException(file + ": tensor '" + name + "' is " + entry.dtype() + "; weights must be F32,"
                    + " F64, F16 or BF16" + (entry.dtype() == SafetensorsFile.StoredType.I8
                            ? " (I8 values need __metadata__." + Checkpoint.QUANTIZATION + " and their scales)" : ""));
        }
    }

    private static BasedModel build(Backend backend, BasedConfig config, WeightSource weights, DType dtype,
            WeightFormat format, LoadListener listener, AutoCloseable owned) {
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
        Objects.requireNonNull(format, "format");
        format.requireFits(dtype);
        if (!backend.capabilities().takesWeights(format.type())) {
            throw new IllegalArgumentException("weights: backend " + backend.name() + " does not take "
                    + format.label() + " weights; its linear and embedding take "
                    + backend.capabilities().weightTypes().stream().map(DType::label).sorted().toList());
        }
        ModelFootprint footprint = ModelFootprint.of(config);
        footprint.requireFits("config", config, dtype, format, 1, 1);
        WeightSource source = listener == null ? weights : new Progress(weights, listener,
                footprint.weightBytes(dtype, format));
        return assemble(backend, dtype, format, source, config, owned);
    }

    /** Counts the bytes of each tensor read (as stored for the model) for a {@link LoadListener}. */
    private static final class Progress implements WeightSource {
        private final WeightSource weights;
        private final LoadListener listener;
        private final long total;
        private long done;

        Progress(WeightSource weights, LoadListener listener, long total) {
            this.weights = weights;
            this.listener = listener;
            this.total = total;
        }

        @Override
        public HostTensor get(String name) {
            HostTensor t = weights.get(name);
            report(name, t.segment().byteSize());
            return t;
        }

        @Override
        public HostWeight weight(String name, Shape expected, WeightFormat format) {
            HostWeight w = weights.weight(name, expected, format);
            report(name, w.byteSize());
            return w;
        }

        private void report(String name, long bytes) {
            done += bytes;
            listener.loaded(name, Math.min(done, total), total);
        }
    }

    /**
     * Builds the stack from its parts, as {@link LayerStack#load} does, keeping the embedding, the final norm and the
     * head at hand: {@link #locateNonFinite} runs them one by one.
     */
    private static BasedModel assemble(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            BasedConfig config, AutoCloseable owned) {
        LayerStack.Config sc = stackConfig(config);
        int d = sc.modelDim();
        Shape table = Shape.of(sc.vocabSize(), d);
        List<AutoCloseable> built = new ArrayList<>();
        try {
            Weight embedding = upload(backend, dtype, format, weights, LayerStack.EMBEDDING, table);
            built.add(embedding);
            Weight head = embedding;
            if (!sc.tiedHead()) {
                head = upload(backend, dtype, format, weights, LayerStack.HEAD, table);
                built.add(head);
            }
            List<Block> blocks = new ArrayList<>();
            for (int i = 0; i < sc.mixers().size(); i++) {
                Block b = Block.load(backend, dtype, format, weights.prefixed(LayerStack.LAYER_PREFIX + i + "."),
                        sc.mixers().get(i), sc.mlp(), sc.normEps());
                built.add(b);
                blocks.add(b);
            }
            String normPrefix = LayerStack.FINAL_NORM.substring(0, LayerStack.FINAL_NORM.length() - "weight".length());
            RmsNorm norm = RmsNorm.load(backend, dtype, weights.prefixed(normPrefix), new RmsNorm.Config(d, sc.normEps()));
            built.add(norm);
            LayerStack stack = new LayerStack(embedding, blocks, norm, head);
            return new BasedModel(config, stack, owned, new Ends(embedding, norm, head), format);
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

    private static Weight upload(Backend backend, DType dtype, WeightFormat format, WeightSource weights, String name,
            Shape expected) {
        HostWeight w = weights.weight(name, expected, format);
        if (w == null || !w.shape().equals(expected) || !w.format().equals(format)) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected " + format.label() + " "
                    + expected + ", the source gave " + (w == null ? "null" : w.format().label() + " " + w.shape()));
        }
        return w.upload(backend, dtype);
    }

    /**
     * A model with seeded random weights (PyTorch's default initialisation, as {@link LayerStack#randomWeights}): the
     * same seed gives the same weights on every backend. For demos, tests and throughput measurements.
     */
    public static BasedModel random(Backend backend, BasedConfig config, long seed, DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        return random(backend, config, seed, dtype, WeightFormat.of(dtype));
    }

    /**
     * {@link #random(Backend, BasedConfig, long, DType)} with the matrices stored in {@code format}: the same seeded
     * weights, converted one tensor at a time as they are made (a block's float weights at a time), so that the model
     * holds only its weights in that format.
     */
    public static BasedModel random(Backend backend, BasedConfig config, long seed, DType dtype, WeightFormat format) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(format, "format");
        return fromWeights(backend, config, LayerStack.randomSource(stackConfig(config), seed), dtype, format);
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

    /**
     * Downloads the logits of each sequence's last position, as sampling needs them.
     *
     * @param logits {@code [batch, seq, vocab]} as {@link #prefill}, {@link #decode} or a {@link DecodePlan} return
     *     them, on this model's backend
     * @return {@code batch} rows of {@code vocab} floats
     * @throws IllegalArgumentException naming {@code logits} when it is not of rank 3
     */
    public float[][] lastLogits(Tensor logits) {
        if (logits == null || logits.shape().rank() != 3) {
            throw new IllegalArgumentException("logits: expected [batch, seq, vocab], got "
                    + (logits == null ? "null" : logits.shape()));
        }
        int batch = logits.shape().dim(0);
        int seq = logits.shape().dim(1);
        int v = logits.shape().dim(2);
        HostTensor host = backend().download(logits);
        float[][] out = new float[batch][v];
        for (int b = 0; b < batch; b++) {
            long base = ((long) b * seq + seq - 1) * v;
            for (int i = 0; i < v; i++) {
                out[b][i] = (float) host.getDouble(base + i);
            }
        }
        return out;
    }

    /** @return the element type of activations, states, norms and sums */
    public DType dtype() {
        return stack.dtype();
    }

    /** @return how the matrices (projections, MLP, embedding, head) are stored */
    public WeightFormat weightFormat() {
        return format;
    }

    /**
     * @return bytes the weights occupy on the backend: the matrices in {@link #weightFormat()} (int8 with their
     *     scales), everything else in {@link #dtype()}; what a decode step reads
     */
    public long weightBytes() {
        return footprint.weightBytes(dtype(), format);
    }

    /**
     * @return bytes the weights of a model of {@code config} take with the matrices in {@code format} and the rest in
     *     {@code dtype}, computed from the configuration alone (for budgets, before anything is loaded)
     * @throws ArithmeticException when the count does not fit in a {@code long}
     */
    public static long weightBytes(BasedConfig config, DType dtype, WeightFormat format) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(format, "format");
        return ModelFootprint.of(config).weightBytes(dtype, format);
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
                Tensor x = b.embedding(ends.embedding(), chunk, 1, len, dtype());
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
                + config.paddedVocabSize() + ", " + dtype().label() + (format.isReduced() ? ", " + format.label()
                        + " weights" : "") + " on " + backend().name() + "]";
    }
}
