package dev.based4j.layer;

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
public final class DecodePlan extends PlannedStep {
    private final LayerStack stack;
    private final boolean rows;
    private final int vocab;

    DecodePlan(LayerStack stack, List<LayerStack.State> states, boolean rows) {
        super(stack, states);
        this.stack = stack;
        this.rows = rows;
        this.vocab = stack.vocabSize();
        if (vocab == 0) {
            throw new IllegalStateException("layer stack: has no embedding and head; a decode plan takes token ids"
                    + " (plan hidden states with LayerStack.planHidden)");
        }
    }

    /** @return sequences per step: the state's batch, or the number of states */
    public int batch() {
        return rows ? states().size() : states().get(0).layer(0).batch();
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
        checkUsable("Decode");
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
        return run(() -> rows ? stack.decode(ids, states()) : stack.decode(ids, states().get(0)),
                r -> System.arraycopy(ids, 0, r.embeddingIds().get(0), 0, ids.length));
    }

    @Override
    long tokensPerStep() {
        return 1;
    }
}
