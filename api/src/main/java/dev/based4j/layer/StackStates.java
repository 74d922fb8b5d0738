package dev.based4j.layer;

import dev.based4j.Backend;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.StateSnapshot;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import java.util.ArrayList;
import java.util.List;

/** Layer states restored from snapshots for {@link LayerStack.State#restore}: each of the kind its block needs. */
final class StackStates {
    private StackStates() {}

    /** @param snapshots one per block of {@code stack}, counted by the caller */
    static List<RecurrentState> restore(LayerStack stack, List<StateSnapshot> snapshots) {
        List<RecurrentState> states = new ArrayList<>();
        try {
            for (int i = 0; i < snapshots.size(); i++) {
                StateSnapshot s = snapshots.get(i);
                StateSnapshot.Kind expected = kindOf(stack.blocks().get(i).mixer());
                if (expected != null && s.kind() != expected) {
                    throw new IllegalArgumentException("snapshots: layer " + i + " holds a " + s.kind().label()
                            + " state, expected " + expected.label());
                }
                states.add(restoreOne(stack.backend(), s, stack.dtype()));
            }
            return states;
        } catch (RuntimeException | Error e) {
            LayerSupport.closeAll(states);
            throw e;
        }
    }

    private static StateSnapshot.Kind kindOf(Mixer m) {
        return switch (m) {
            case LinearAttentionLayer l -> StateSnapshot.Kind.LINEAR_ATTENTION;
            case SlidingWindowLayer s -> StateSnapshot.Kind.WINDOW;
            case BaseConvLayer c -> StateSnapshot.Kind.CONV;
            case BasedAttentionLayer b -> StateSnapshot.Kind.BASED_ATTENTION;
            default -> null;
        };
    }

    private static RecurrentState restoreOne(Backend backend, StateSnapshot s, DType dtype) {
        return switch (s.kind()) {
            case LINEAR_ATTENTION -> LinearAttentionState.restore(backend, s, dtype);
            case WINDOW -> WindowState.restore(backend, s, dtype);
            case BASED_ATTENTION -> BasedAttentionState.restore(backend, s, dtype);
            case CONV -> ConvState.restore(backend, s, dtype);
        };
    }

    /** The state must be one of {@code stack}: a layer state per block, all at one position. */
    static void check(LayerStack stack, LayerStack.State state) {
        if (state == null) {
            throw new IllegalArgumentException("state: expected the stack's State, got null");
        }
        if (state.layers().size() != stack.blocks().size()) {
            throw new IllegalArgumentException("state: expected " + stack.blocks().size() + " layer states, got "
                    + state.layers().size());
        }
        long first = state.layers().get(0).position();
        for (int i = 1; i < state.layers().size(); i++) {
            long p = state.layers().get(i).position();
            if (p != first) {
                // a step failed part-way: the layers before the failure advanced, the others did not
                throw new IllegalStateException("state: layer 0 is at position " + first + " but layer " + i
                        + " at " + p + "; a step failed part-way through the stack, so the state is inconsistent."
                        + " Restore it from a snapshot or start a new one");
            }
        }
    }
}
