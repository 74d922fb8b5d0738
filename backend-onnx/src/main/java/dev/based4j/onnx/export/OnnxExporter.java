package dev.based4j.onnx.export;

import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.BasedAttentionLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.WeightSource;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.tensor.DType;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Writes a whole BASED model (or any {@link LayerStack} with an embedding and a head) as an ONNX model that
 * other runtimes can load: the same graphs the {@code onnx} backend runs, composed layer by layer, with the
 * weights as initializers.
 *
 * <p>Two graphs, one per file ({@link Mode}):
 * <ul>
 *   <li><b>prefill</b>: input {@code input_ids [batch, seq]} (INT64) → {@code logits [batch, seq, vocab]},
 *       {@code position_out [1]} (= seq) and every layer's state {@code present.<i>.<name>}, starting from empty
 *       states;
 *   <li><b>decode</b>: inputs {@code input_ids [batch, 1]}, {@code position [1]} (tokens consumed so far) and
 *       {@code past.<i>.<name>} → {@code logits [batch, 1, vocab]}, {@code position_out} (= position + 1) and
 *       {@code present.<i>.<name>}.
 * </ul>
 * State names per mixer ({@link #stateNames}): linear attention {@code kv [batch, heads, headDim, D_φ]},
 * {@code z [batch, heads, D_φ]}; sliding window {@code ring_k}, {@code ring_v [batch, heads, lookback+1, headDim]}
 * (the token at position p in slot p mod (lookback+1), keys after rotary); BaseConv {@code conv [batch, inner,
 * kernel]}; the fused layer {@code kv, z, ring_k, ring_v}. They are the based4j state layouts, so a prefill on one
 * runtime can continue on another.
 *
 * <p>The file keeps the format of the matrix weights (projections, MLP, embedding, head) it is given: a bf16 or f16
 * tensor becomes an initializer of that type followed by a {@code Cast}; an int8 tensor, with its scales under
 * {@code <name>.scales} ({@code [out]} or {@code [out, in / group]}), an INT8 initializer followed by
 * {@code DequantizeLinear} (f32) or {@code Cast} and {@code Mul} (f64). Metadata {@code based4j.weights} lists the
 * formats written.
 *
 * <p>Opset {@value GraphBuilder#OPSET}, IR version {@value GraphBuilder#IR_VERSION}: the newest that the onnx 1.12
 * checker of Debian's {@code python3-onnx} knows. The prefill graph uses the linear-memory forms (chunked linear
 * attention, blocked window) so long prompts fit; the decode graph the one-token forms.
 */
public final class OnnxExporter {
    private OnnxExporter() {}

    /** Weights above this many bytes go to a separate data file (protobuf messages stop at 2 GiB). */
    public static final long EXTERNAL_DATA_THRESHOLD = 1L << 30;

    /** Which graph to write. */
    public enum Mode {
        /** Token ids → logits and all states. */
        PREFILL,
        /** One token and the states → logits and the new states. */
        DECODE;

        /**
         * Parses {@code prefill} / {@code decode} (any case).
         *
         * @throws IllegalArgumentException naming the value otherwise
         */
        public static Mode parse(String text) {
            if (text != null) {
                for (Mode m : values()) {
                    if (m.name().equalsIgnoreCase(text.strip())) {
                        return m;
                    }
                }
            }
            throw new IllegalArgumentException("mode: expected prefill or decode, got " + text);
        }
    }

    /**
     * What {@link #export} wrote.
     *
     * @param model the {@code .onnx} file
     * @param data the external data file, or null when the weights are inside the model
     * @param inputs the graph's input names, in order
     * @param outputs the graph's output names, in order
     * @param weightBytes bytes of weights written
     */
    public record Result(Path model, Path data, List<String> inputs, List<String> outputs, long weightBytes) {}

    /**
     * @return the names of layer {@code layer}'s state tensors, in graph order (without the {@code past.<i>.} /
     *     {@code present.<i>.} prefix)
     */
    public static List<String> stateNames(MixerConfig mixer) {
        return switch (mixer) {
            case LinearAttentionLayer.Config c -> List.of("kv", "z");
            case SlidingWindowLayer.Config c -> List.of("ring_k", "ring_v");
            case BaseConvLayer.Config c -> List.of("conv");
            case BasedAttentionLayer.Config c -> List.of("kv", "z", "ring_k", "ring_v");
        };
    }

    /**
     * Builds the model in memory with the weights inside.
     *
     * @throws IllegalArgumentException when the stack has no embedding/head ({@code vocabSize = 0}), a weight is
     *     missing or has the wrong shape, or the weights exceed 2 GiB (use {@link #export} with a file)
     */
    public static byte[] toBytes(LayerStack.Config config, WeightSource weights, Mode mode, DType dtype) {
        ExportGraph b = new ExportGraph(config, weights, mode, dtype, null);
        if (b.weightBytes > Integer.MAX_VALUE - (64L << 20)) {
            throw new IllegalArgumentException("weights: " + b.weightBytes + " bytes do not fit into one protobuf "
                    + "message; export to a file, which puts them into external data");
        }
        return b.g.build(b.metadata()).toByteArray();
    }

    /**
     * Writes the model to {@code out}; weights above {@link #EXTERNAL_DATA_THRESHOLD} bytes go to
     * {@code out + ".data"} beside it (ONNX external data, loaded by ONNX Runtime and the onnx checker from the
     * model's folder).
     *
     * @throws IllegalArgumentException for a bad configuration or weights (as {@link #toBytes})
     * @throws UncheckedIOException when a file cannot be written
     */
    public static Result export(LayerStack.Config config, WeightSource weights, Mode mode, DType dtype, Path out) {
        return export(config, weights, mode, dtype, out, EXTERNAL_DATA_THRESHOLD);
    }

    /**
     * As {@link #export(LayerStack.Config, WeightSource, Mode, DType, Path)}, with weights going to the external
     * data file {@code out + ".data"} when they exceed {@code externalDataThreshold} bytes (0: always).
     */
    public static Result export(LayerStack.Config config, WeightSource weights, Mode mode, DType dtype, Path out,
            long externalDataThreshold) {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(config, "config: expected a LayerStack.Config, got null");
        Objects.requireNonNull(dtype, "dtype: expected f32 or f64, got null");
        if (externalDataThreshold < 0) {
            throw new IllegalArgumentException("externalDataThreshold: expected >= 0 bytes, got " + externalDataThreshold);
        }
        long total = weightBytes(config, dtype);
        Path data = total > externalDataThreshold ? out.resolveSibling(out.getFileName() + ".data") : null;
        try {
            if (out.toAbsolutePath().getParent() != null) {
                Files.createDirectories(out.toAbsolutePath().getParent());
            }
            ExportGraph b;
            if (data != null) {
                try (OutputStream stream = Files.newOutputStream(data)) {
                    b = new ExportGraph(config, weights, mode, dtype,
                            new ExportGraph.External(data.getFileName().toString(), stream));
                }
            } else {
                b = new ExportGraph(config, weights, mode, dtype, null);
            }
            try (OutputStream stream = Files.newOutputStream(out)) {
                b.g.build(b.metadata()).writeTo(stream);
            }
            return new Result(out, data, b.inputs, b.outputs, b.weightBytes);
        } catch (IOException e) {
            throw new UncheckedIOException("out: cannot write " + out + ": " + e.getMessage(), e);
        }
    }

    private static long weightBytes(LayerStack.Config config, DType dtype) {
        long n = 0;
        int d = config.modelDim();
        n += (long) config.vocabSize() * d * (config.tiedHead() ? 1 : 2);
        for (MixerConfig m : config.mixers()) {
            n += 2L * d;
            n += switch (m) {
                case LinearAttentionLayer.Config c -> 2L * c.heads() * c.featureDim() * d + 2L * c.heads() * c.headDim() * d;
                case BasedAttentionLayer.Config c -> 2L * c.heads() * c.spec().featureMap().inputDim() * d
                        + 2L * c.heads() * c.headDim() * d;
                case SlidingWindowLayer.Config c -> 4L * d * d + 4L * d;
                case BaseConvLayer.Config c -> 3L * c.spec().innerDim() * d + (long) c.spec().innerDim() * c.spec().kernelSize()
                        + 2L * c.spec().innerDim() + d;
            };
            if (config.mlp() != null) {
                n += 3L * config.mlp().hidden() * d;
            }
        }
        return (n + d) * dtype.byteSize();
    }
}
