package dev.based4j.state;

/** Argument checks shared by the state classes. */
final class StateChecks {
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
