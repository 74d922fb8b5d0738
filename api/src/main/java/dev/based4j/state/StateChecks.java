package dev.based4j.state;

import dev.based4j.internal.StatePositions;

/**
 * Argument checks shared by the state classes; initialising it hands the kernels' door to {@code advance} to
 * {@link StatePositions}.
 */
final class StateChecks {
    static {
        StatePositions.register((state, tokens) -> {
            switch (state) {
                case LinearAttentionState s -> s.advance(tokens);
                case WindowState s -> s.advance(tokens);
                case BasedAttentionState s -> s.advance(tokens);
                case ConvState s -> s.advance(tokens);
            }
        });
    }

    private StateChecks() {}

    static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }

    static void kind(StateSnapshot snapshot, StateSnapshot.Kind expected) {
        if (snapshot.kind() != expected) {
            throw new IllegalArgumentException(
                    "snapshot: expected a " + expected.label() + " state, got " + snapshot.kind().label());
        }
    }

    static void advance(RecurrentState state, long tokens) {
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens: expected >= 0, got " + tokens);
        }
        if (tokens > StateFormat.MAX_POSITION - state.position()) {
            throw new IllegalStateException("state: position " + state.position() + " + " + tokens + " tokens would pass"
                    + " the largest position " + StateFormat.MAX_POSITION + " (2^53)");
        }
    }
}
