package dev.based4j.model;

import dev.based4j.model.BasedConfig.MixerKind;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;

/**
 * What a {@link BasedConfig} makes based4j allocate, in elements, computed from the configuration alone (in closed
 * form, with overflow checks) so that it can be compared with a budget before anything is allocated.
 *
 * @param weightElements every weight the model reads (the tied head counted once)
 * @param weightTensors tensors the checkpoint must hold
 * @param largestWeightElements the largest single weight
 * @param stateElements the decode state of one sequence: linear-attention states in the canonical layout
 *     ({@code heads·(1+f+f²)·(headDim+1)} per layer), window rings ({@code 2·(lookback+1)·n_embd} per layer),
 *     convolution windows ({@code inner·kernel} per layer)
 * @param windowStateElements the part of {@code stateElements} held by the window rings
 * @param activationElementsPerToken an upper estimate of what one token of a prefill holds at once: its logits over
 *     the padded vocabulary, the MLP's {@code 3·hidden}, eight {@code n_embd}-wide intermediates and the Taylor
 *     features of q and k
 * @param vectorElements the part of {@code weightElements} outside matrices (norms, biases, convolutions), which
 *     stays in the compute type whatever the {@link WeightFormat}
 * @param matrixRows rows of every matrix (projections, MLP, embedding, head): the scales of int8 weights stored per
 *     output channel
 */
record ModelFootprint(long weightElements, long weightTensors, long largestWeightElements, long stateElements,
        long windowStateElements, long activationElementsPerToken, long vectorElements, long matrixRows) {

    /**
     * @throws ArithmeticException when a count does not fit in a {@code long}
     */
    static ModelFootprint of(BasedConfig c) {
        long d = c.modelDim();
        long vocab = c.paddedVocabSize();
        long hidden = c.mlp().hidden();
        long table = Math.multiplyExact(vocab, d);
        long weights = c.tieWordEmbeddings() ? table : Math.multiplyExact(2, table);
        long tensors = c.tieWordEmbeddings() ? 2 : 3; // embedding (and head), ln_f
        long largest = table;
        long perBlock = Math.addExact(Math.multiplyExact(3 * hidden, d), 2 * d); // fc1, fc2, norm1, norm2
        long rows = Math.multiplyExact(c.tieWordEmbeddings() ? 1 : 2, vocab);
        long blockRows = 2 * hidden + d;
        largest = Math.max(largest, Math.multiplyExact(2 * hidden, d));

        var la = c.linearAttention();
        long featureDim = la.featureDim();
        long expanded = Math.addExact(1 + featureDim, Math.multiplyExact(featureDim, featureDim));
        long laWeights = Math.addExact(Math.multiplyExact(2L * la.heads() * featureDim, d),
                Math.multiplyExact(2L * la.heads() * la.headDim(), d));
        long laState = Math.multiplyExact(Math.multiplyExact(la.heads(), expanded), la.headDim() + 1L);

        var sw = c.slidingWindow();
        long swWeights = Math.addExact(Math.multiplyExact(4 * d, d), (sw.qkvBias() ? 3 * d : 0) + (sw.outBias() ? d : 0));
        long swState = Math.multiplyExact(2L * (sw.lookback() + 1L), d);

        var conv = c.baseConv();
        long inner = conv.expandProj() * d / 2;
        long convWeights = Math.addExact(Math.addExact(Math.multiplyExact(3 * inner, d), 2 * inner + d),
                Math.multiplyExact(inner, conv.kernelSize()));
        long convState = Math.multiplyExact(inner, conv.kernelSize());

        long la_n = count(c, MixerKind.LINEAR_ATTENTION);
        long sw_n = count(c, MixerKind.SLIDING_WINDOW);
        long conv_n = c.layerCount() - la_n - sw_n;
        weights = Math.addExact(weights, Math.multiplyExact(c.layerCount(), perBlock));
        weights = Math.addExact(weights, Math.multiplyExact(la_n, laWeights));
        weights = Math.addExact(weights, Math.multiplyExact(sw_n, swWeights));
        weights = Math.addExact(weights, Math.multiplyExact(conv_n, convWeights));
        weights = Math.addExact(weights, d);
        long vectors = Math.addExact(Math.multiplyExact(c.layerCount(), 2 * d), d);
        vectors = Math.addExact(vectors, Math.multiplyExact(sw_n, (sw.qkvBias() ? 3 * d : 0) + (sw.outBias() ? d : 0)));
        vectors = Math.addExact(vectors, Math.multiplyExact(conv_n, Math.addExact(2 * inner + d,
                Math.multiplyExact(inner, conv.kernelSize()))));
        rows = Math.addExact(rows, Math.multiplyExact(c.layerCount(), blockRows));
        rows = Math.addExact(rows, Math.multiplyExact(la_n, 2L * la.heads() * featureDim + (long) la.heads()
                * la.headDim() + d));
        rows = Math.addExact(rows, Math.multiplyExact(sw_n, 4 * d));
        rows = Math.addExact(rows, Math.multiplyExact(conv_n, 2 * inner + d));
        tensors += 4L * c.layerCount() + 4 * la_n + (2 + (sw.qkvBias() ? 1 : 0) + (sw.outBias() ? 1 : 0)) * sw_n
                + 5 * conv_n;
        if (la_n > 0) {
            largest = Math.max(largest, Math.multiplyExact((long) la.heads() * Math.max(featureDim, la.headDim()), d));
        }
        if (sw_n > 0) {
            largest = Math.max(largest, Math.multiplyExact(3 * d, d));
        }
        if (conv_n > 0) {
            largest = Math.max(largest, Math.multiplyExact(2 * inner, d));
        }
        long windowState = Math.multiplyExact(sw_n, swState);
        long state = Math.addExact(Math.addExact(Math.multiplyExact(la_n, laState), windowState),
                Math.multiplyExact(conv_n, convState));
        long activation = Math.addExact(Math.addExact(vocab, 3 * hidden), Math.addExact(8 * d,
                la_n > 0 ? Math.multiplyExact(2L * la.heads(), expanded) : 0));
        return new ModelFootprint(weights, tensors, largest, state, windowState, activation, vectors, rows);
    }

    private static long count(BasedConfig c, MixerKind kind) {
        return c.mixers().stream().filter(k -> k == kind).count();
    }

    /** @return bytes of the weights as {@code dtype} */
    long weightBytes(DType dtype) {
        return Math.multiplyExact(weightElements, (long) dtype.byteSize());
    }

    /**
     * @return bytes of the weights with the matrices stored in {@code format} (int8 scales in {@code dtype}, one per
     *     row or per group) and everything else in {@code dtype}
     */
    long weightBytes(DType dtype, WeightFormat format) {
        long matrices = weightElements - vectorElements;
        long bytes = Math.addExact(Math.multiplyExact(matrices, (long) format.type().byteSize()),
                Math.multiplyExact(vectorElements, (long) dtype.byteSize()));
        if (format.type() == DType.I8) {
            long scales = format.groupSize() == 0 ? matrixRows : matrices / format.groupSize();
            bytes = Math.addExact(bytes, Math.multiplyExact(scales, (long) dtype.byteSize()));
        }
        return bytes;
    }

    /** @return bytes of the decode state of {@code batch} sequences as {@code dtype} */
    long stateBytes(long batch, DType dtype) {
        return Math.multiplyExact(Math.multiplyExact(stateElements, batch), (long) dtype.byteSize());
    }

    /** @return bytes of what a prefill of {@code tokens} tokens holds at once, as {@code dtype} */
    long activationBytes(long tokens, DType dtype) {
        return Math.multiplyExact(Math.multiplyExact(activationElementsPerToken, tokens), (long) dtype.byteSize());
    }

    /**
     * Checks that the weights, the state of {@code batch} sequences and the activations of a prefill of
     * {@code tokens} tokens per sequence fit the host-memory budget, before any of them is allocated.
     *
     * @param where the file the configuration came from, or what asked (a batch, a prefill), first in the message
     * @throws CheckpointException (when {@code where} is a file) or IllegalArgumentException naming {@code where}, the
     *     keys that size each part with their values, the bytes needed and the budget
     */
    void requireFits(String where, BasedConfig c, DType dtype, long batch, long tokens) {
        requireFits(where, c, dtype, WeightFormat.of(dtype), batch, tokens);
    }

    /** {@link #requireFits(String, BasedConfig, DType, long, long)} with the matrices stored in {@code format}. */
    void requireFits(String where, BasedConfig c, DType dtype, WeightFormat format, long batch, long tokens) {
        long budget = MemoryBudget.hostBytes();
        long weights;
        long state;
        long activations;
        try {
            weights = weightBytes(dtype, format);
            state = stateBytes(batch, dtype);
            activations = activationBytes(Math.multiplyExact(batch, tokens), dtype);
            if (Math.addExact(Math.addExact(weights, state), activations) <= budget) {
                return;
            }
        } catch (ArithmeticException e) {
            weights = -1;
            state = -1;
            activations = -1;
        }
        String why;
        if (weights < 0) {
            why = "more bytes than a 64-bit count holds";
        } else {
            why = String.format(java.util.Locale.ROOT, "%,d bytes as %s: weights %,d (%s%s), the state of %d"
                    + " sequence%s %,d (%s), the activations of %d token%s %,d (%s)",
                    weights + state + activations, dtype.label(), weights, weightKeys(c),
                    format.isReduced() ? ", matrices in " + format.label() : "", batch, batch == 1 ? "" : "s",
                    state, stateKeys(c), batch * tokens, batch * tokens == 1 ? "" : "s", activations, activationKeys(c));
        }
        String message = where + ": the model needs " + why + "; above the host-memory budget of "
                + String.format(java.util.Locale.ROOT, "%,d", budget) + " bytes (" + MemoryBudget.hostSource() + ")";
        throw where.endsWith(".json") ? new CheckpointException(message) : new IllegalArgumentException(message);
    }

    private static String weightKeys(BasedConfig c) {
        return "n_layer " + c.layerCount() + ", n_embd " + c.modelDim() + ", vocab_size " + c.vocabSize()
                + (c.paddedVocabSize() != c.vocabSize() ? " padded to " + c.paddedVocabSize() : "") + ", n_inner "
                + c.mlp().hidden();
    }

    private String stateKeys(BasedConfig c) {
        long windows = c.mixers().stream().filter(k -> k == MixerKind.SLIDING_WINDOW).count();
        if (windows > 0 && windowStateElements * 2 >= stateElements) {
            return "alt_mixer_2.window_size " + c.slidingWindow().windowSize() + ": " + windows + " window layer"
                    + (windows == 1 ? "" : "s") + " of " + (c.slidingWindow().lookback() + 1L) + " slots";
        }
        return "alt_mixer.num_heads " + c.linearAttention().heads() + ", feature_dim "
                + c.linearAttention().featureDim() + ", head_dim " + c.linearAttention().headDim()
                + "; window and convolution rings";
    }

    private static String activationKeys(BasedConfig c) {
        return "logits over vocab_size " + c.paddedVocabSize() + ", n_inner " + c.mlp().hidden() + ", n_embd "
                + c.modelDim();
    }
}
