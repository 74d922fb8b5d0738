package dev.based4j.state;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * State of the fused linear-plus-window layer: the linear-attention state over the keys that left the window
 * and a ring of the last {@code lookback + 1} raw keys and values. A key enters the linear state at the step it
 * leaves the ring. Both parts advance together.
 */
public final class BasedAttentionState implements RecurrentState {
    private final LinearAttentionState far;
    private final WindowState near;

    private BasedAttentionState(LinearAttentionState far, WindowState near) {
        this.far = far;
        this.near = near;
    }

    /** An empty state. */
    public static BasedAttentionState empty(Backend backend, int batch, int heads, int featureDim, int expandedDim,
            int valueDim, int lookback, DType dtype) {
        LinearAttentionState far = LinearAttentionState.zeros(backend, batch, heads, expandedDim, valueDim, dtype);
        try {
            return new BasedAttentionState(far,
                    WindowState.empty(backend, batch, heads, featureDim, valueDim, lookback, dtype));
        } catch (RuntimeException e) {
            far.close();
            throw e;
        }
    }

    /** Restores a snapshot onto {@code backend}, converting to {@code dtype}. */
    public static BasedAttentionState restore(Backend backend, StateSnapshot snapshot, DType dtype) {
        Objects.requireNonNull(snapshot, "snapshot");
        StateChecks.kind(snapshot, StateSnapshot.Kind.BASED_ATTENTION);
        StateSnapshot farSnap = snapshot.part(StateSnapshot.Kind.LINEAR_ATTENTION, "far.");
        StateSnapshot nearSnap = snapshot.part(StateSnapshot.Kind.WINDOW, "near.");
        LinearAttentionState far = LinearAttentionState.restore(backend, farSnap, dtype);
        try {
            return new BasedAttentionState(far, WindowState.restore(backend, nearSnap, dtype));
        } catch (RuntimeException e) {
            far.close();
            throw e;
        }
    }

    /** @return the linear state over keys that left the window */
    public LinearAttentionState far() {
        return far;
    }

    /** @return the ring of the last {@code lookback + 1} raw keys and values */
    public WindowState near() {
        return near;
    }

    /** @return previous tokens of the exact window */
    public int lookback() {
        return near.lookback();
    }

    @Override
    public Backend backend() {
        return far.backend();
    }

    @Override
    public DType dtype() {
        return far.dtype();
    }

    @Override
    public int batch() {
        return far.batch();
    }

    @Override
    public long position() {
        return near.position();
    }

    /** Records that {@code tokens} more tokens were consumed; kernels reach it through StatePositions. */
    void advance(long tokens) {
        near.advance(tokens);
        far.advance(tokens);
    }

    @Override
    public long sizeInBytes() {
        return far.sizeInBytes() + near.sizeInBytes();
    }

    @Override
    public StateSnapshot snapshot() {
        StateSnapshot f = far.snapshot();
        StateSnapshot n = near.snapshot();
        List<StateSnapshot.Entry> entries = new ArrayList<>();
        f.tensors().forEach(e -> entries.add(new StateSnapshot.Entry("far." + e.name(), e.tensor())));
        n.tensors().forEach(e -> entries.add(new StateSnapshot.Entry("near." + e.name(), e.tensor())));
        List<StateSnapshot.Meta> meta = new ArrayList<>();
        n.meta().forEach(m -> meta.add(new StateSnapshot.Meta("near." + m.name(), m.value())));
        return new StateSnapshot(StateSnapshot.Kind.BASED_ATTENTION, position(), meta, entries);
    }

    @Override
    public boolean isClosed() {
        return far.isClosed() || near.isClosed();
    }

    @Override
    public void close() {
        try (near) {
            far.close();
        }
    }

    @Override
    public String toString() {
        return "BasedAttentionState[far " + far + ", near " + near + "]";
    }
}
