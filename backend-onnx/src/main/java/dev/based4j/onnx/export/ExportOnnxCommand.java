package dev.based4j.onnx.export;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.SwiGluMlp;
import dev.based4j.layer.WeightSource;
import dev.based4j.tensor.DType;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j export-onnx --model DIR --out FILE.onnx [--mode prefill|decode] [--dtype f32|f64]}: writes a
 * BASED model as ONNX with {@link OnnxExporter}. Without {@code --model} it writes a layer stack with seeded
 * weights in BASED's layer pattern (per 5 layers: BaseConv, linear attention, sliding window, BaseConv,
 * BaseConv), sized by {@code --d-model}, {@code --layers}, {@code --heads}, {@code --vocab}.
 *
 * <p>The command line registers it with the model loader of the {@code model} module:
 * <pre>{@code
 * cli.addSubcommand("export-onnx", new ExportOnnxCommand(dir -> {
 *     Checkpoint cp = Checkpoint.open(dir);
 *     return new ExportOnnxCommand.Loaded(BasedModel.stackConfig(cp.config()), cp.weights(DType.F32), cp);
 * }));
 * }</pre>
 * picocli is an optional dependency of this module, needed only by this class.
 *
 * <p>Nothing is built before the sizes are known to fit: the flags are checked against their ranges, the weights
 * and the graph are sized from them without overflow and handed to a {@link MemoryCheck}, and {@code --out} is
 * checked to be a file that can be written (a folder, a device or a path whose folder cannot be created is refused
 * at once, not after the export). A write that fails anyway (a full disk) is reported naming {@code --out}.
 */
@Command(name = "export-onnx", mixinStandardHelpOptions = true,
        description = "Write a BASED model (or a seeded layer stack) as an ONNX prefill or decode graph.")
public final class ExportOnnxCommand implements Callable<Integer> {
    /** Loads a model folder (a Hugging Face checkpoint) into a stack configuration and its weights. */
    @FunctionalInterface
    public interface ModelLoader {
        /**
         * @param dir the model folder
         * @throws IllegalArgumentException when the folder is not a model this loader reads
         */
        Loaded load(Path dir);
    }

    /**
     * A loaded model.
     *
     * @param config the stack's shape
     * @param weights its weights under the checkpoint names
     * @param resources closed after the export (for example the memory-mapped checkpoint), or null
     */
    public record Loaded(LayerStack.Config config, WeightSource weights, AutoCloseable resources) {
        /** A model without resources to close. */
        public Loaded(LayerStack.Config config, WeightSource weights) {
            this(config, weights, null);
        }
    }

    /**
     * Decides whether an export of this size may start. The command line checks against the memory budget of its
     * JVM; without one, {@link #withinMaxHeap()} applies.
     */
    @FunctionalInterface
    public interface MemoryCheck {
        /**
         * @param setting the options that set the size, as typed (e.g. {@code --layers 100000000})
         * @param heapBytes Java heap the export needs at most: the graph, and the weights while they are inside it
         * @param nativeBytes off-heap memory it needs: the seeded weights (0 for a memory-mapped checkpoint)
         * @param detail how the figures were computed, for the message
         * @throws IllegalArgumentException naming {@code setting} and the bytes when the export does not fit
         */
        void check(String setting, long heapBytes, long nativeBytes, String detail);

        /**
         * @return a conservative check for callers without a memory budget: the heap and the native bytes, each
         *     against {@link Runtime#maxMemory()} ({@code -Xmx}), the one limit this module can read
         */
        static MemoryCheck withinMaxHeap() {
            return (setting, heap, offHeap, detail) -> {
                long max = Runtime.getRuntime().maxMemory();
                if (heap > max || offHeap > max) {
                    boolean onHeap = heap > max;
                    throw new IllegalArgumentException(setting + ": needs " + bytes(onHeap ? heap : offHeap) + " of "
                            + (onHeap ? "Java heap" : "native memory") + " (" + detail + ") but at most " + bytes(max)
                            + " (-Xmx) is allowed here; choose smaller values");
                }
            };
        }
    }

    /** Largest {@code --d-model} accepted. */
    public static final int MAX_MODEL_DIM = 1 << 16;
    /** Largest {@code --layers} accepted. */
    public static final int MAX_LAYERS = 1 << 16;
    /** Largest {@code --vocab} accepted. */
    public static final int MAX_VOCAB = 1 << 24;
    /**
     * Java heap an ONNX graph takes per layer while it is built and written (protobuf messages of its nodes, names
     * and shapes), measured at about 250 KiB for the seeded layer pattern and rounded up.
     */
    static final long GRAPH_BYTES_PER_LAYER = 256L << 10;
    /** Java heap of a graph beyond its layers (embedding, head, inputs and outputs). */
    static final long GRAPH_BYTES_BASE = 16L << 20;

    private final ModelLoader loader;
    private final MemoryCheck memory;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model folder (config.json and weights); "
            + "without it a layer stack with seeded weights is written.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "FILE.onnx", description = "Where to write the model.")
    Path out;

    @Option(names = "--mode", defaultValue = "prefill", paramLabel = "prefill|decode",
            description = "prefill: ids -> logits and all states; decode: one token and the states -> logits and new "
                    + "states (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "f32|f64", description = "Element type (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights without --model (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--d-model", defaultValue = "256", description = "Width without --model (default: ${DEFAULT-VALUE}).")
    int modelDim;

    @Option(names = "--layers", defaultValue = "5", description = "Layers without --model (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", defaultValue = "4", description = "Heads without --model (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--vocab", defaultValue = "1024", description = "Vocabulary without --model (default: ${DEFAULT-VALUE}).")
    int vocab;

    /** A command that can only write seeded stacks ({@code --model} is refused with the reason). */
    public ExportOnnxCommand() {
        this(null);
    }

    /** @param loader how {@code --model DIR} is read; null when no model loader is on the class path */
    public ExportOnnxCommand(ModelLoader loader) {
        this(loader, MemoryCheck.withinMaxHeap());
    }

    /**
     * @param loader how {@code --model DIR} is read; null when no model loader is on the class path
     * @param memory decides whether an export of the requested size may start
     */
    public ExportOnnxCommand(ModelLoader loader, MemoryCheck memory) {
        this.loader = loader;
        this.memory = Objects.requireNonNull(memory, "memory");
    }

    /**
     * A seeded stack in BASED's layer pattern: per five layers BaseConv, linear attention (Taylor, f = 16),
     * sliding window (lookback 64), BaseConv, BaseConv; SwiGLU hidden {@code 2·D} rounded up to 256; tied head.
     */
    public static LayerStack.Config seededStack(int modelDim, int layers, int heads, int vocab) {
        if (layers < 1) {
            throw new IllegalArgumentException("layers: expected >= 1, got " + layers);
        }
        if (heads < 1 || modelDim < 1 || modelDim % heads != 0) {
            throw new IllegalArgumentException("d-model: expected a positive multiple of heads=" + heads + ", got " + modelDim);
        }
        List<MixerConfig> mixers = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            mixers.add(switch (i % 5) {
                case 1 -> new LinearAttentionLayer.Config(modelDim, heads, modelDim / heads, LinearAttentionSpec.of(new Taylor(16)));
                case 2 -> SlidingWindowLayer.Config.of(modelDim, heads, 64);
                default -> BaseConvLayer.Config.of(modelDim);
            });
        }
        int hidden = (2 * modelDim + 255) / 256 * 256;
        return new LayerStack.Config(vocab, mixers, new SwiGluMlp.Config(modelDim, hidden), 1e-5, true);
    }

    @Override
    public Integer call() {
        OnnxExporter.Mode m = OnnxExporter.Mode.parse(mode);
        DType t = DType.parse(dtype);
        checkOut(out);
        Loaded loaded;
        if (model != null) {
            if (loader == null) {
                throw new IllegalArgumentException("--model: no model loader is on the class path (based4j-model); "
                        + "leave --model out to export a seeded layer stack");
            }
            if (!Files.isDirectory(model)) {
                throw new IllegalArgumentException("--model: expected a model folder, got " + model);
            }
            loaded = Objects.requireNonNull(loader.load(model), "loader returned null");
            try {
                long weightBytes = saturatingTimes(parameters(loaded.config()), t.byteSize());
                memory.check("--model " + model, exportHeap(loaded.config().mixers().size(), weightBytes), 0,
                        loaded.config().mixers().size() + " layers, " + bytes(weightBytes) + " of " + t.label()
                                + " weights");
            } catch (RuntimeException | Error e) {
                closeQuietly(loaded, e);
                throw e;
            }
        } else {
            // positive first, then the memory the sizes need (named in bytes), then the ranges the layer
            // configurations can hold
            range("--d-model", modelDim, Integer.MAX_VALUE);
            range("--layers", layers, Integer.MAX_VALUE);
            range("--vocab", vocab, Integer.MAX_VALUE);
            range("--heads", heads, Integer.MAX_VALUE);
            long parameters = seededParameters(modelDim, layers, heads, vocab);
            long seeded = saturatingTimes(parameters, DType.F32.byteSize());
            long weightBytes = saturatingTimes(parameters, t.byteSize());
            memory.check("--d-model " + modelDim + ", --layers " + layers + ", --heads " + heads + ", --vocab "
                    + vocab, exportHeap(layers, weightBytes), seeded, layers + " layers of width " + modelDim + ", "
                    + (parameters == Long.MAX_VALUE ? "too many" : parameters) + " parameters");
            checkSeededSizes();
            LayerStack.Config config = seededStack(modelDim, layers, heads, vocab);
            loaded = new Loaded(config, WeightSource.of(LayerStack.randomWeights(config, seed)));
        }
        OnnxExporter.Result r;
        try {
            r = OnnxExporter.export(loaded.config(), loaded.weights(), m, t, out);
        } catch (UncheckedIOException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            String reason = cause instanceof FileSystemException f && f.getReason() != null ? f.getReason()
                    : cause.getMessage();
            throw new IllegalArgumentException("--out: writing " + out + " failed: " + reason, e);
        } finally {
            if (loaded.resources() != null) {
                try {
                    loaded.resources().close();
                } catch (Exception e) {
                    throw new IllegalStateException("--model: closing " + model + " failed: " + e.getMessage(), e);
                }
            }
        }
        PrintWriter w = spec.commandLine().getOut();
        w.printf("wrote %s (%s, %s, %d layers, %d bytes of weights%s)%n", r.model(), m.name().toLowerCase(java.util.Locale.ROOT),
                t.label(), loaded.config().mixers().size(), r.weightBytes(),
                r.data() == null ? "" : ", external data " + r.data().getFileName());
        w.printf("inputs:  %s%noutputs: %s%n", String.join(", ", r.inputs()), String.join(", ", r.outputs()));
        return 0;
    }

    /**
     * Refuses an output path that cannot take the export, before anything is built: a folder, a device or other
     * special file (the export also writes {@code FILE.data} beside it for large models), a file that cannot be
     * written, or one whose folder cannot be created.
     *
     * @throws IllegalArgumentException naming {@code --out}
     */
    static void checkOut(Path out) {
        Path absolute = out.toAbsolutePath().normalize();
        if (Files.isDirectory(absolute)) {
            throw new IllegalArgumentException("--out: " + out + " is a folder; expected the .onnx file to write");
        }
        if (Files.exists(absolute)) {
            if (!Files.isRegularFile(absolute)) {
                throw new IllegalArgumentException("--out: " + out + " is not a regular file (a device, pipe or "
                        + "socket); expected the .onnx file to write (large models also get FILE.data beside it)");
            }
            if (!Files.isWritable(absolute)) {
                throw new IllegalArgumentException("--out: " + out + " cannot be written (permission denied)");
            }
            return;
        }
        Path ancestor = absolute.getParent();
        while (ancestor != null && !Files.exists(ancestor)) {
            ancestor = ancestor.getParent();
        }
        if (ancestor == null || !Files.isDirectory(ancestor)) {
            throw new IllegalArgumentException("--out: " + out + " cannot be created: " + (ancestor == null
                    ? "no part of its path exists" : ancestor + " is not a folder"));
        }
        if (!Files.isWritable(ancestor)) {
            throw new IllegalArgumentException("--out: " + out + " cannot be created: folder " + ancestor
                    + " cannot be written (permission denied)");
        }
    }

    /** Checks the seeded stack's flags against their ranges, so that its configuration can be built. */
    private void checkSeededSizes() {
        range("--d-model", modelDim, MAX_MODEL_DIM);
        range("--layers", layers, MAX_LAYERS);
        range("--vocab", vocab, MAX_VOCAB);
        range("--heads", heads, modelDim);
        if (modelDim % heads != 0) {
            throw new IllegalArgumentException("--d-model: expected a multiple of --heads " + heads + ", got "
                    + modelDim);
        }
    }

    private static void range(String option, int value, int max) {
        if (value < 1 || value > max) {
            throw new IllegalArgumentException(option + ": expected " + (max == Integer.MAX_VALUE ? "at least 1"
                    : "1.." + max) + ", got " + value);
        }
    }

    /** @return Java heap of an export: the graph, plus the weights (twice: tensor and message) when they go inline */
    static long exportHeap(int layerCount, long weightBytes) {
        long graph = saturatingPlus(GRAPH_BYTES_BASE, saturatingTimes(layerCount, GRAPH_BYTES_PER_LAYER));
        long inline = weightBytes > OnnxExporter.EXTERNAL_DATA_THRESHOLD ? 0 : saturatingTimes(2, weightBytes);
        return saturatingPlus(graph, inline);
    }

    /**
     * @return the parameters of {@link #seededStack} with these sizes, computed without building it
     *     ({@link Long#MAX_VALUE} when they do not fit a long)
     */
    static long seededParameters(int modelDim, int layerCount, int heads, int vocabSize) {
        long d = modelDim;
        long hidden = (2 * d + 255) / 256 * 256;
        long inner = 2 * d;
        long conv = saturatingPlus(saturatingTimes(3, inner, d), saturatingTimes(inner, 3), 2 * inner, d);
        long linear = saturatingPlus(saturatingTimes(2, heads, 16, d), saturatingTimes(2, d, d));
        long window = saturatingTimes(4, d, d);
        long perBlock = saturatingPlus(saturatingTimes(3, hidden, d), 2 * d);
        long periods = layerCount / 5;
        int rest = layerCount % 5;
        long convLayers = saturatingPlus(saturatingTimes(3, periods), rest >= 1 ? 1 : 0, rest >= 4 ? 1 : 0);
        long linearLayers = saturatingPlus(periods, rest >= 2 ? 1 : 0);
        long windowLayers = saturatingPlus(periods, rest >= 3 ? 1 : 0);
        return saturatingPlus(saturatingTimes(vocabSize, d), d, saturatingTimes(convLayers, conv),
                saturatingTimes(linearLayers, linear), saturatingTimes(windowLayers, window),
                saturatingTimes(layerCount, perBlock));
    }

    /** @return the parameters of a stack configuration (weights the export writes) */
    static long parameters(LayerStack.Config config) {
        long d = config.modelDim();
        long n = saturatingTimes(config.vocabSize(), d, config.tiedHead() ? 1 : 2);
        for (MixerConfig c : config.mixers()) {
            n = saturatingPlus(n, 2 * d, config.mlp() == null ? 0 : saturatingTimes(3, config.mlp().hidden(), d),
                    switch (c) {
                        case LinearAttentionLayer.Config la -> saturatingPlus(
                                saturatingTimes(2, la.heads(), la.featureDim(), d),
                                saturatingTimes(2, la.heads(), la.headDim(), d));
                        case SlidingWindowLayer.Config sw -> saturatingPlus(saturatingTimes(4, d, d),
                                sw.qkvBias() ? 3 * d : 0, sw.outBias() ? d : 0);
                        case BaseConvLayer.Config bc -> saturatingPlus(
                                saturatingTimes(3, bc.spec().innerDim(), d),
                                saturatingTimes(bc.spec().innerDim(), bc.spec().kernelSize() + 2L), d);
                        default -> saturatingTimes(8, d, d);
                    });
        }
        return saturatingPlus(n, d);
    }

    private static long saturatingTimes(long... factors) {
        long p = 1;
        for (long f : factors) {
            if (f <= 0) {
                return 0;
            }
        }
        for (long f : factors) {
            if (p > Long.MAX_VALUE / f) {
                return Long.MAX_VALUE;
            }
            p *= f;
        }
        return p;
    }

    private static long saturatingPlus(long... terms) {
        long s = 0;
        for (long t : terms) {
            s = s > Long.MAX_VALUE - t ? Long.MAX_VALUE : s + t;
        }
        return s;
    }

    private static String bytes(long n) {
        if (n == Long.MAX_VALUE) {
            return "more than 8 EiB";
        }
        if (n < 1024) {
            return n + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    private void closeQuietly(Loaded loaded, Throwable failure) {
        if (loaded.resources() != null) {
            try {
                loaded.resources().close();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
    }
}
