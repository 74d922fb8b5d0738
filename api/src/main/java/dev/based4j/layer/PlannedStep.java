package dev.based4j.layer;

import dev.based4j.internal.Plans;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.function.Supplier;

/**
 * What the plans of a {@link LayerStack} share: the first step runs the stack and records its kernel calls, later
 * steps replay them; the states must not move outside the plan between steps; closing frees the plan's workspace.
 */
abstract class PlannedStep implements AutoCloseable {
    private final LayerStack stack;
    private final List<LayerStack.State> states;
    private Plans.Recording recording;
    private Tensor output;
    private boolean eager;
    private long steps;
    private long[] expected;
    private boolean closed;

    PlannedStep(LayerStack stack, List<LayerStack.State> states) {
        this.stack = stack;
        this.states = List.copyOf(states);
    }

    final List<LayerStack.State> states() {
        return states;
    }

    /** Checks that the plan, its stack and its states can take another step. */
    final void checkUsable(String kind) {
        if (closed) {
            throw new IllegalStateException("plan: closed; make a new one with LayerStack.plan" + kind);
        }
        if (stack.isClosed()) {
            throw new IllegalStateException("plan: its layer stack was closed");
        }
        if (steps > 0) {
            checkPositions();
        }
    }

    /**
     * Runs one step: the first records {@code run}, later ones call {@code prepare} on the recording (to write the
     * step's inputs) and replay it.
     *
     * @return the step's output, owned by the plan
     */
    final Tensor run(Supplier<Tensor> run, java.util.function.Consumer<Plans.Recording> prepare) {
        if (eager) {
            if (output != null) {
                output.close();
            }
            output = run.get();
        } else if (recording == null) {
            Tensor[] out = new Tensor[1];
            recording = Plans.record(stack.backend(), () -> out[0] = run.get());
            eager = recording == null;
            output = out[0];
        } else {
            prepare.accept(recording);
            recording.replay(steps * tokensPerStep());
        }
        steps++;
        expected = positions();
        return output;
    }

    /** @return tokens each state advances per step */
    abstract long tokensPerStep();

    private long[] positions() {
        long[] p = new long[states.size()];
        for (int i = 0; i < p.length; i++) {
            p[i] = states.get(i).position();
        }
        return p;
    }

    private void checkPositions() {
        for (int i = 0; i < states.size(); i++) {
            for (RecurrentState layer : states.get(i).layers()) {
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

    /** Frees the plan's workspace and its last output. Idempotent. */
    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (recording != null) {
            recording.close();
        } else if (output != null) {
            output.close();
        }
    }
}
