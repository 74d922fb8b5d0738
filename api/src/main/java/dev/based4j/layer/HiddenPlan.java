package dev.based4j.layer;

import dev.based4j.tensor.Tensor;
import java.util.List;

/**
 * A step of a {@link LayerStack}'s hidden states ({@link LayerStack#hidden}) planned once and run step after step, on
 * one input tensor the caller may refill between steps (with {@link dev.based4j.Backend#copyRows}, say): the first
 * {@link #step()} runs the blocks and the final norm and records every kernel call; later steps replay them with no
 * validation and no allocation. Made by {@link LayerStack#planHidden}; its rules are those of {@link DecodePlan}.
 */
public final class HiddenPlan extends PlannedStep {
    private final LayerStack stack;
    private final Tensor input;
    private final boolean decode;
    private final long tokens;

    HiddenPlan(LayerStack stack, LayerStack.State state, Tensor input, boolean decode) {
        super(stack, List.of(state));
        this.stack = stack;
        this.input = input;
        this.decode = decode;
        this.tokens = input.shape().dim(1);
    }

    /**
     * Runs the blocks and the final norm over the input, advancing the state by the input's {@code seq} tokens.
     *
     * @return the normalised hidden states {@code [batch, seq, D]} in a tensor the plan owns: valid until the next
     *     step or {@link #close()}, never to be closed by the caller
     * @throws IllegalStateException when the plan, the stack or the input was closed, or the state moved outside
     *     the plan
     */
    public Tensor step() {
        checkUsable("Hidden");
        if (input.isClosed()) {
            throw new IllegalStateException("plan: its input tensor was closed");
        }
        return run(() -> stack.hidden(input, states().get(0), decode), r -> { });
    }

    @Override
    long tokensPerStep() {
        return tokens;
    }
}
