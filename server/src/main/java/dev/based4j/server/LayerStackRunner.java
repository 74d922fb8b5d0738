package dev.based4j.server;

import dev.based4j.layer.DecodePlan;
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
 * seeded stack of any mixers): each sequence has a batch-1 {@link LayerStack.State} of its own (a batched state has
 * one position for all its rows, and sequences here are at positions of their own). A step runs its prefill chunks
 * one after another (each keeps only its last logits) and all its decode items as one planned step
 * ({@link LayerStack#planDecode(List)}): the embedding, norms, MLPs and head run over every decoding sequence at once,
 * so the weights are read once per step, and each mixer on its own sequence. The plan is recorded once per set of
 * decoding sequences and replayed while the set stays the same. Every kernel computes a row the same way whatever
 * rows share its call, so a sequence's logits are those it would get alone. On a backend without device copies
 * ({@link dev.based4j.Capabilities#copiesRows()}) decode items run one after another too.
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
    private final boolean batched;
    /** The plan of the last step's decoding sequences, in their order, while they stay the same. */
    private DecodePlan plan;
    private List<StackState> planned = List.of();

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
        this.batched = stack.backend().capabilities().copiesRows();
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
        ItemResult[] out = new ItemResult[items.size()];
        List<Integer> decodes = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            StepItem item = items.get(i);
            StackState s = (StackState) item.state();
            if (item instanceof Decode && batched) {
                decodes.add(i);
                continue;
            }
            try {
                out[i] = ItemResult.of(switch (item) {
                    case Prefill p -> {
                        try (Tensor logits = stack.prefillLast(p.ids(), 1, p.ids().length, s.state)) {
                            yield p.wantLogits() ? lastRow(logits, 0) : null;
                        }
                    }
                    case Decode d -> {
                        try (Tensor logits = stack.decode(new int[] {d.id()}, s.state)) {
                            yield lastRow(logits, 0);
                        }
                    }
                });
            } catch (RuntimeException e) {
                out[i] = ItemResult.failed(e);
            }
        }
        if (!decodes.isEmpty()) {
            decodeTogether(items, decodes, out);
        }
        return java.util.Arrays.asList(out);
    }

    /** The decode items of a step as one planned step; if it fails, every one of them failed. */
    private void decodeTogether(List<StepItem> items, List<Integer> decodes, ItemResult[] out) {
        List<StackState> states = new ArrayList<>(decodes.size());
        int[] ids = new int[decodes.size()];
        for (int j = 0; j < ids.length; j++) {
            Decode d = (Decode) items.get(decodes.get(j));
            states.add((StackState) d.state());
            ids[j] = d.id();
        }
        try {
            if (plan == null || !planned.equals(states)) {
                closePlan();
                plan = stack.planDecode(states.stream().map(s -> s.state).toList());
                planned = states;
            }
            HostTensor logits = stack.backend().download(plan.step(ids));
            for (int j = 0; j < ids.length; j++) {
                out[decodes.get(j)] = ItemResult.of(row(logits, j));
            }
        } catch (RuntimeException e) {
            closePlan();
            for (int j : decodes) {
                out[j] = ItemResult.failed(e);
            }
        }
    }

    private void closePlan() {
        if (plan != null) {
            plan.close();
            plan = null;
            planned = List.of();
        }
    }

    private float[] lastRow(Tensor logits, int row) {
        return row(stack.backend().download(logits), row);
    }

    /** @return row {@code row} of logits {@code [rows, 1, logitsWidth]} on the host */
    private float[] row(HostTensor host, int row) {
        float[] out = new float[logitsWidth];
        long base = (long) row * logitsWidth;
        if (host.dtype() == dev.based4j.tensor.DType.F32) {
            java.lang.foreign.MemorySegment.copy(host.segment(), ValueLayout.JAVA_FLOAT, base * Float.BYTES, out, 0,
                    logitsWidth);
        } else {
            for (int i = 0; i < logitsWidth; i++) {
                out[i] = (float) host.getDouble(base + i);
            }
        }
        return out;
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

    /** Closes the plan and every state still open; the stack itself belongs to the caller. */
    @Override
    public void close() {
        closePlan();
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
