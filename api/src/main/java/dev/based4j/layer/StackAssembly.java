package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
import java.util.ArrayList;
import java.util.List;

/** How a {@link LayerStack} is built from checkpoint weights, and the checks of its embedding and head. */
final class StackAssembly {
    private StackAssembly() {}

    /** {@link LayerStack#load(Backend, DType, WeightFormat, WeightSource, LayerStack.Config)}. */
    static LayerStack load(Backend backend, DType dtype, WeightFormat format, WeightSource weights,
            LayerStack.Config config) {
        LayerSupport.backend(backend);
        LayerSupport.dtype(dtype);
        LayerSupport.format(format, dtype);
        LayerSupport.weights(weights);
        LayerSupport.config(config);
        int d = config.modelDim();
        List<AutoCloseable> built = new ArrayList<>();
        try {
            Weight embedding = null;
            Weight head = null;
            if (config.vocabSize() > 0) {
                Shape table = Shape.of(config.vocabSize(), d);
                embedding = LayerSupport.uploadWeights(backend, dtype, format, weights,
                        List.of(new LayerSupport.Matrix(LayerStack.EMBEDDING, table))).get(0);
                built.add(embedding);
                if (config.tiedHead()) {
                    head = embedding;
                } else {
                    head = LayerSupport.uploadWeights(backend, dtype, format, weights,
                            List.of(new LayerSupport.Matrix(LayerStack.HEAD, table))).get(0);
                    built.add(head);
                }
            }
            List<Block> blocks = new ArrayList<>();
            for (int i = 0; i < config.mixers().size(); i++) {
                Block b = Block.load(backend, dtype, format, weights.prefixed(LayerStack.LAYER_PREFIX + i + "."),
                        config.mixers().get(i), config.mlp(), config.normEps());
                built.add(b);
                blocks.add(b);
            }
            String normName = LayerStack.FINAL_NORM.substring(0, LayerStack.FINAL_NORM.length() - "weight".length());
            RmsNorm norm = RmsNorm.load(backend, dtype, weights.prefixed(normName),
                    new RmsNorm.Config(d, config.normEps()));
            built.add(norm);
            return new LayerStack(embedding, blocks, norm, head);
        } catch (RuntimeException | Error e) {
            LayerSupport.closeAll(built);
            throw e;
        }
    }

    /** Checks the parts of a {@link LayerStack}: blocks of one width, backend and type, a norm and tables to match. */
    static void checkParts(Weight embedding, List<Block> blocks, RmsNorm finalNorm, Weight head) {
        if (blocks == null || blocks.isEmpty()) {
            throw new IllegalArgumentException("blocks: expected at least one block, got " + blocks);
        }
        if (finalNorm == null) {
            throw new IllegalArgumentException("finalNorm: expected an RmsNorm, got null");
        }
        Block first = blocks.get(0);
        int d = first.modelDim();
        for (int i = 0; i < blocks.size(); i++) {
            Block b = blocks.get(i);
            if (b == null || b.modelDim() != d || b.backend() != first.backend() || b.dtype() != first.dtype()) {
                throw new IllegalArgumentException("blocks: block " + i + " (" + b + ") does not match block 0 ("
                        + first + ") in width, backend or type");
            }
        }
        if (finalNorm.config().dim() != d || finalNorm.backend() != first.backend()
                || finalNorm.dtype() != first.dtype()) {
            throw new IllegalArgumentException("finalNorm: expected width " + d + ", backend " + first.backend().name()
                    + " and dtype " + first.dtype().label() + ", got " + finalNorm);
        }
        checkTable("embedding", embedding, d, first);
        checkTable("head", head, d, first);
        if (embedding != null && head != null && !embedding.shape().equals(head.shape())) {
            throw new IllegalArgumentException("head: expected shape " + embedding.shape() + " like the embedding, got "
                    + head.shape());
        }
    }

    /** Checks a table (embedding or head) against the first block: its width, backend and types. */
    static void checkTable(String name, Weight w, int d, Block first) {
        if (w == null) {
            return;
        }
        Tensor t = w.values();
        if (t.shape().rank() != 2 || t.shape().dim(1) != d) {
            throw new IllegalArgumentException(name + ": expected shape [vocab, d_model=" + d + "], got " + t.shape());
        }
        boolean stored = t.dtype() == first.dtype() || !t.dtype().isCompute();
        if (t.backend() != first.backend() || !stored
                || w.scales() != null && (w.scales().dtype() != first.dtype() || w.scales().backend() != t.backend())) {
            throw new IllegalArgumentException(name + ": expected a " + first.dtype().label() + " (or bf16, f16, int8"
                    + " with " + first.dtype().label() + " scales) weight of backend " + first.backend().name()
                    + ", got " + w);
        }
    }
}
