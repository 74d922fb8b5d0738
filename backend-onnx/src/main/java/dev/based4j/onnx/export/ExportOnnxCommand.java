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

    private final ModelLoader loader;

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
        this.loader = loader;
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
        } else {
            LayerStack.Config config = seededStack(modelDim, layers, heads, vocab);
            loaded = new Loaded(config, WeightSource.of(LayerStack.randomWeights(config, seed)));
        }
        OnnxExporter.Result r;
        try {
            r = OnnxExporter.export(loaded.config(), loaded.weights(), m, t, out);
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
}
