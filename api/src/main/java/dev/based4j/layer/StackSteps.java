package dev.based4j.layer;

import dev.based4j.state.RecurrentState;
import java.util.List;

/** Checks of the steps that run independent sequences together. */
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
}
