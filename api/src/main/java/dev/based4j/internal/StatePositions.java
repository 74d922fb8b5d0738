package dev.based4j.internal;

import dev.based4j.state.RecurrentState;

/**
 * The one door through which kernels advance a state's position: {@code advance} is not public API (only a kernel
 * that consumed tokens may move it), so the state package hands its implementation to this class when it is
 * initialised, as the JDK's own shared-secrets classes do.
 */
public final class StatePositions {
    /** Advances a state by a number of tokens; implemented by the state package. */
    @FunctionalInterface
    public interface Advancer {
        /** Records that {@code tokens} more tokens were consumed. */
        void advance(RecurrentState state, long tokens);
    }

    private static volatile Advancer advancer;

    private StatePositions() {}

    /** Called once by the state package. */
    public static void register(Advancer implementation) {
        advancer = implementation;
    }

    /** Records that {@code tokens} more tokens were consumed by {@code state}. */
    public static void advance(RecurrentState state, long tokens) {
        Advancer a = advancer;
        if (a == null) {
            initialise(state);
            a = advancer;
        }
        a.advance(state, tokens);
    }

    private static void initialise(RecurrentState state) {
        try {
            Class.forName("dev.based4j.state.StateChecks", true, state.getClass().getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("state package of based4j-api is incomplete", e);
        }
    }
}
