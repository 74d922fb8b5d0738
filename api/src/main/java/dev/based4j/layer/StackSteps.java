package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import java.util.ArrayList;
import java.util.List;

/** The token steps of a {@link LayerStack} beyond one batch's prefill and decode, and the checks of their inputs. */
final class StackSteps {
    private StackSteps() {}

    /** The states must be distinct batch-1 states of {@code stack}, with consistent layers. */
    static void checkStates(LayerStack stack, List<LayerStack.State> states) {
        if (states == null || states.isEmpty()) {
            throw new IllegalArgumentException("states: expected at least one sequence's state, got " + states);
        }
        for (int r = 0; r < states.size(); r++) {
            LayerStack.State s = states.get(r);
            if (s == null) {
                throw new IllegalArgumentException("states: element " + r + " is null");
            }
            stack.checkState(s);
            RecurrentState first = s.layer(0);
            if (first.batch() != 1) {
                throw new IllegalArgumentException("states: element " + r + " holds " + first.batch()
                        + " sequences; each sequence needs a state of its own (newState(1))");
            }
            if (first.backend() != stack.backend()) {
                throw new IllegalArgumentException("states: element " + r + " lives on backend "
                        + first.backend().name() + ", not the stack's " + stack.backend().name());
            }
            for (int q = 0; q < r; q++) {
                if (states.get(q) == s) {
                    throw new IllegalArgumentException("states: elements " + q + " and " + r
                            + " are the same state; a sequence cannot take two tokens in one step");
                }
            }
        }
    }

    /** Token ids of a {@code [batch, seq]} step of a stack with an embedding and a head. */
    static void checkTokens(LayerStack stack, int[] ids, int batch, int seq) {
        if (!stack.hasTokens()) {
            throw new IllegalStateException("layer stack: has no embedding and head; run hidden states through"
                    + " hidden() instead");
        }
        if (ids == null) {
            throw new IllegalArgumentException("ids: expected batch*seq token ids, got null");
        }
        LayerSupport.positive("batch", batch);
        LayerSupport.positive("seq", seq);
        if (ids.length != (long) batch * seq) {
            throw new IllegalArgumentException("ids: expected batch*seq = " + (long) batch * seq + " token ids, got "
                    + ids.length);
        }
    }

    /** {@link #checkStates}, and one token id in the vocabulary per state. */
    static void checkRows(LayerStack stack, int[] ids, List<LayerStack.State> states) {
        checkStates(stack, states);
        if (ids == null || ids.length != states.size()) {
            throw new IllegalArgumentException("ids: expected one token id per state (" + states.size() + "), got "
                    + (ids == null ? "null" : ids.length));
        }
    }

    /** {@link LayerStack#prefillLast}, its arguments checked: the head on each sequence's last position only. */
    static Tensor prefillLast(LayerStack stack, Weight embedding, Weight head, int[] ids, int batch, int seq,
            LayerStack.State state) {
        Backend b = stack.backend();
        int d = stack.modelDim();
        try (Tensor x = b.embedding(embedding, ids, batch, seq, stack.dtype());
                Tensor h = stack.hidden(x, state, false);
                Tensor flat = b.view(h, Shape.of(batch, seq * d));
                Tensor lastFlat = b.slice(flat, (seq - 1) * d, seq * d);
                Tensor last = b.view(lastFlat, Shape.of(batch, 1, d))) {
            return b.linear(last, head, null);
        }
    }

    /** {@link LayerStack#decode(int[], List)}, its arguments checked: one step of independent sequences. */
    static Tensor decodeRows(LayerStack stack, Weight embedding, RmsNorm finalNorm, Weight head, int[] ids,
            List<LayerStack.State> states) {
        Backend b = stack.backend();
        int n = ids.length;
        List<Block> blocks = stack.blocks();
        Tensor residual = b.embedding(embedding, ids, n, 1, stack.dtype());
        try {
            for (int i = 0; i < blocks.size(); i++) {
                List<RecurrentState> layer = new ArrayList<>(n);
                for (LayerStack.State st : states) {
                    layer.add(st.layer(i));
                }
                Tensor next = blocks.get(i).decodeRows(residual, layer);
                residual.close();
                residual = next;
            }
            try (Tensor h = finalNorm.forward(residual)) {
                return b.linear(h, head, null);
            }
        } finally {
            residual.close();
        }
    }
}
