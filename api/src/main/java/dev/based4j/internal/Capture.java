package dev.based4j.internal;

import dev.based4j.state.RecurrentState;
import java.util.ArrayList;
import java.util.List;

/**
 * What one thread's run of a step recorded on a backend, for replay as an execution plan: every kernel call as it
 * was validated (its call record, with the memory it read and wrote), every tensor the step allocated (kept for the
 * plan: its calls write there again), and the token ids of its embedding calls (the plan's input). Replaying runs the
 * recorded calls in order with no validation and no allocation; only what moves from step to step is refreshed: a
 * state's position and memory (read from the state itself), a rotary call's start position.
 */
final class Capture {
    /** One recorded call. {@code delta}: tokens the plan has advanced since the capture. */
    @FunctionalInterface
    interface Replay {
        void run(long delta);
    }

    private final Thread thread;
    private final List<Replay> calls = new ArrayList<>();
    private final List<DeviceTensor<?>> owned = new ArrayList<>();
    private final List<int[]> embeddingIds = new ArrayList<>();
    private final List<RecurrentState> states = new ArrayList<>();
    private boolean closed;

    Capture(Thread thread) {
        this.thread = thread;
    }

    boolean isRecording(Thread t) {
        return t == thread && !closed;
    }

    void record(Replay call) {
        calls.add(call);
    }

    void own(DeviceTensor<?> tensor) {
        owned.add(tensor);
    }

    void embedding(int[] ids) {
        embeddingIds.add(ids);
    }

    void state(RecurrentState state) {
        if (!states.contains(state)) {
            states.add(state);
        }
    }

    List<Replay> calls() {
        return calls;
    }

    List<DeviceTensor<?>> owned() {
        return owned;
    }

    List<int[]> embeddingIds() {
        return embeddingIds;
    }

    List<RecurrentState> states() {
        return states;
    }

    void stop() {
        closed = true;
    }
}
