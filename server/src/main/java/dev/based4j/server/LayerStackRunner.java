package dev.based4j.server;

import dev.based4j.layer.LayerStack;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.StateSnapshot;
import dev.based4j.state.WindowState;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A {@link SequenceRunner} on a {@link LayerStack} with an embedding and a head (a {@code BasedModel}'s stack, or a
 * seeded stack of any mixers): each sequence has a batch-1 {@link LayerStack.State} of its own, and a step runs its
 * items one after another.
 *
 * <p>Why one state per sequence: a batched {@code LayerStack.State} has one position for all its rows (rotary
 * angles and the ring slots of sliding windows depend on it), so sequences at different positions cannot share one.
 * A step over many per-sequence states that batches the weight-bound projections is the execution plan's job; this
 * runner keeps the same contract so that such a plan replaces it without touching the scheduler.
 *
 * <p>Saved states are host snapshots ({@link LayerStack.State#snapshots()}); resuming uploads them again. Both copy
 * the tensors bit for bit, so a resumed state gives the logits the original would have given.
 */
public final class LayerStackRunner implements SequenceRunner {
    private final LayerStack stack;
    private final long stateBytes;
    private final long maxPositions;
    private final int logitsWidth;
    private final Map<StackState, Boolean> open = new IdentityHashMap<>();

    /**
     * @param stack a stack with an embedding and a head (vocabulary above 0); not closed by this runner
     * @throws IllegalArgumentException when the stack maps hidden states rather than token ids
     */
    public LayerStackRunner(LayerStack stack) {
        Objects.requireNonNull(stack, "stack");
        if (stack.vocabSize() < 1) {
            throw new IllegalArgumentException("stack: expected a stack with an embedding and a head, got " + stack);
        }
        this.stack = stack;
        this.logitsWidth = stack.vocabSize();
        try (LayerStack.State probe = stack.newState(1)) {
            this.stateBytes = probe.sizeInBytes();
            long max = Long.MAX_VALUE;
            for (RecurrentState layer : probe.layers()) {
                // only a full-attention layer (unbounded lookback) stops a sequence: a bounded ring wraps around
                if (layer instanceof WindowState w && w.lookback() == SlidingWindowSpec.UNBOUNDED) {
                    max = Math.min(max, w.capacity());
                }
            }
            this.maxPositions = max;
        }
    }

    /** @return states handed out and not closed yet */
    int openStates() {
        return open.size();
    }

    /** @return the stack it runs */
    public LayerStack stack() {
        return stack;
    }

    @Override
    public int logitsWidth() {
        return logitsWidth;
    }

    @Override
    public long stateBytes() {
        return stateBytes;
    }

    @Override
    public long maxPositions() {
        return maxPositions;
    }

    @Override
    public SequenceState open() {
        StackState s = new StackState(stack.newState(1));
        open.put(s, Boolean.TRUE);
        return s;
    }

    @Override
    public List<ItemResult> step(List<StepItem> items) {
        if (items == null || items.isEmpty()) {
            throw new IllegalArgumentException("items: expected at least one step item, got "
                    + (items == null ? "null" : "none"));
        }
        Map<SequenceState, Boolean> seen = new IdentityHashMap<>();
        for (int i = 0; i < items.size(); i++) {
            StepItem item = items.get(i);
            if (item == null) {
                throw new IllegalArgumentException("items: item " + i + " is null");
            }
            own(item.state(), "items: item " + i);
            if (seen.put(item.state(), Boolean.TRUE) != null) {
                throw new IllegalArgumentException("items: item " + i + " advances a sequence an earlier item of"
                        + " the step already advances");
            }
        }
        List<ItemResult> out = new ArrayList<>(items.size());
        for (StepItem item : items) {
            StackState s = (StackState) item.state();
            try {
                out.add(ItemResult.of(switch (item) {
                    case Prefill p -> {
                        try (Tensor logits = stack.prefill(p.ids(), 1, p.ids().length, s.state)) {
                            yield p.wantLogits() ? lastRow(logits, p.ids().length) : null;
                        }
                    }
                    case Decode d -> {
                        try (Tensor logits = stack.decode(new int[] {d.id()}, s.state)) {
                            yield lastRow(logits, 1);
                        }
                    }
                }));
            } catch (RuntimeException e) {
                out.add(ItemResult.failed(e));
            }
        }
        return out;
    }

    private float[] lastRow(Tensor logits, int seq) {
        HostTensor host = stack.backend().download(logits);
        float[] row = new float[logitsWidth];
        long base = (long) (seq - 1) * logitsWidth;
        if (host.dtype() == dev.based4j.tensor.DType.F32) {
            java.lang.foreign.MemorySegment.copy(host.segment(), ValueLayout.JAVA_FLOAT, base * Float.BYTES, row, 0,
                    logitsWidth);
        } else {
            for (int i = 0; i < logitsWidth; i++) {
                row[i] = (float) host.getDouble(base + i);
            }
        }
        return row;
    }

    @Override
    public SavedState save(SequenceState state) {
        StackState s = own(state, "state");
        List<StateSnapshot> snapshots = s.state.snapshots();
        long bytes = 0;
        for (StateSnapshot snap : snapshots) {
            for (StateSnapshot.Entry e : snap.tensors()) {
                bytes += e.tensor().segment().byteSize();
            }
        }
        return new Snapshot(snapshots, s.state.position(), bytes);
    }

    @Override
    public SequenceState resume(SavedState saved) {
        if (!(saved instanceof Snapshot snap)) {
            throw new IllegalArgumentException("saved: expected a state saved by this runner, got " + saved);
        }
        if (snap.closed) {
            throw new IllegalStateException("saved: closed");
        }
        StackState s = new StackState(LayerStack.State.restore(stack, snap.snapshots));
        open.put(s, Boolean.TRUE);
        return s;
    }

    private StackState own(SequenceState state, String what) {
        if (!(state instanceof StackState s) || !open.containsKey(s)) {
            throw new IllegalArgumentException(what + ": expected an open state of this runner, got " + state);
        }
        return s;
    }

    /** Closes every state still open; the stack itself belongs to the caller. */
    @Override
    public void close() {
        for (StackState s : List.copyOf(open.keySet())) {
            s.close();
        }
    }

    @Override
    public String toString() {
        return "LayerStackRunner[" + stack + ", " + stateBytes + " bytes per sequence]";
    }

    private final class StackState implements SequenceState {
        private final LayerStack.State state;
        private boolean closed;

        StackState(LayerStack.State state) {
            this.state = state;
        }

        @Override
        public long position() {
            return state.position();
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                open.remove(this);
                state.close();
            }
        }

        @Override
        public String toString() {
            return "sequence state at position " + (closed ? "(closed)" : state.position());
        }
    }

    /** Host copies of every layer's state; freed by the garbage collector once dropped. */
    private static final class Snapshot implements SavedState {
        private final List<StateSnapshot> snapshots;
        private final long position;
        private final long bytes;
        private volatile boolean closed;

        Snapshot(List<StateSnapshot> snapshots, long position, long bytes) {
            this.snapshots = snapshots;
            this.position = position;
            this.bytes = bytes;
        }

        @Override
        public long position() {
            return position;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
