package dev.based4j.layer;

import dev.based4j.internal.Plans;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.Tensor;
import java.util.List;

/**
 * The decode step of a {@link LayerStack} planned once and run step after step: the first {@link #step} runs the
 * stack and records every kernel call with its validated arguments and the tensors it allocated; every later step
 * writes the new token ids into the recorded embedding and replays the calls, with no validation, no allocation and
 * no tensor to close. Made by {@link LayerStack#planDecode(LayerStack.State)} (one state, any batch size) or
 * {@link LayerStack#planDecode(List)} (independent sequences at their own positions).
 *
 * <p>The states advance only through the plan: decoding them in any other way between two steps makes the next
 * step fail with {@link IllegalStateException} (make a new plan). A plan is used by one thread at a time. On a
 * backend that cannot record (one not made by based4j), steps run eagerly with the same results. Closing the plan
 * frees its workspace, not the stack or the states.
 */
public final class DecodePlan implements AutoCloseable {
    private final LayerStack stack;
    private final List<LayerStack.State> states;
    private final boolean rows;
    private final int vocab;
    private Plans.Recording recording;
    private Tensor logits;
    private boolean eager;
    private long steps;
    private long[] expected;
    private boolean closed;

    DecodePlan(LayerStack stack, List<LayerStack.State> states, boolean rows) {
        this.stack = stack;
        this.states = List.copyOf(states);
        this.rows = rows;
        this.vocab = stack.vocabSize();
        if (vocab == 0) {
            throw new IllegalStateException("layer stack: has no embedding and head; a decode plan takes token ids");
        }
    }

    /** @return sequences per step: the state's batch, or the number of states */
    public int batch() {
        return rows ? states.size() : states.get(0).layer(0).batch();
    }

    /**
     * Decodes one token per sequence.
     *
     * @param ids {@link #batch()} token ids, each in {@code [0, vocab)}
     * @return logits {@code [batch, 1, vocab]} in a tensor the plan owns: valid until the next step or {@link #close()},
     *     never to be closed by the caller (closing it does nothing)
     * @throws IllegalArgumentException naming {@code ids} when their number or a value is wrong
     * @throws IllegalStateException when the plan or the stack was closed, or a state moved outside the plan
     */
    public Tensor step(int[] ids) {
        if (closed) {
            throw new IllegalStateException("plan: closed; make a new one with LayerStack.planDecode");
        }
        if (stack.isClosed()) {
            throw new IllegalStateException("plan: its layer stack was closed");
        }
        checkIds(ids);
        if (steps > 0) {
            checkPositions();
        }
        if (eager) {
            if (logits != null) {
                logits.close();
            }
            logits = run(ids);
        } else if (recording == null) {
            Tensor[] out = new Tensor[1];
            recording = Plans.record(stack.backend(), () -> out[0] = run(ids));
            eager = recording == null;
            logits = out[0];
        } else {
            int[] into = recording.embeddingIds().get(0);
            System.arraycopy(ids, 0, into, 0, ids.length);
            recording.replay(steps);
        }
        steps++;
        expected = positions();
        return logits;
    }

    private Tensor run(int[] ids) {
        return rows ? stack.decode(ids, states) : stack.decode(ids, states.get(0));
    }

    private void checkIds(int[] ids) {
        int n = batch();
        if (ids == null || ids.length != n) {
            throw new IllegalArgumentException("ids: expected " + n + " token ids (one per sequence), got "
                    + (ids == null ? "null" : ids.length));
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException(
                        "ids: element " + i + " is " + ids[i] + ", expected a token id in [0, " + vocab + ")");
            }
        }
    }

    private long[] positions() {
        long[] p = new long[states.size()];
        for (int i = 0; i < p.length; i++) {
            p[i] = states.get(i).position();
        }
        return p;
    }

    private void checkPositions() {
        for (int i = 0; i < states.size(); i++) {
            LayerStack.State s = states.get(i);
            for (RecurrentState layer : s.layers()) {
                if (layer.isClosed()) {
                    throw new IllegalStateException("plan: state " + i + " was closed; make a new plan");
                }
                if (layer.position() != expected[i]) {
                    throw new IllegalStateException("plan: state " + i + " is at position " + layer.position()
                            + " in a layer, the plan left it at " + expected[i] + "; it was decoded or closed outside"
                            + " the plan: make a new plan");
                }
            }
        }
    }

    /** Frees the plan's workspace and its last logits. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (recording != null) {
            recording.close();
        } else if (logits != null) {
            logits.close();
        }
    }
}
