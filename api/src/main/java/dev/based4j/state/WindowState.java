package dev.based4j.state;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.Objects;

/**
 * The key/value ring buffer of sliding-window attention. {@code keys} is {@code [batch, heads, capacity,
 * keyDim]}, {@code values} is {@code [batch, heads, capacity, valueDim]}; the token at absolute position
 * {@code p} sits in slot {@code p mod capacity}, and the buffer holds positions
 * {@code max(0, position-capacity) .. position-1}. A bounded window has {@code capacity = lookback + 1}; full
 * attention ({@code lookback} unbounded) uses a growing cache whose capacity is the most tokens it may hold.
 */
public final class WindowState implements RecurrentState {
    private final Tensor keys;
    private final Tensor values;
    private final int lookback;
    private long position;

    private WindowState(Tensor keys, Tensor values, int lookback, long position) {
        this.keys = keys;
        this.values = values;
        this.lookback = lookback;
        this.position = position;
    }

    /**
     * An empty ring for a window of {@code lookback} previous tokens (capacity {@code lookback + 1}).
     *
     * @throws IllegalArgumentException when {@code lookback} is unbounded (use {@link #growing}) or a size is
     *     below 1
     */
    public static WindowState empty(
            Backend backend, int batch, int heads, int keyDim, int valueDim, int lookback, DType dtype) {
        if (lookback < 0 || lookback >= (1 << 24)) {
            throw new IllegalArgumentException("lookback: expected 0..16777215 for a ring buffer, got " + lookback
                    + " (use WindowState.growing for full attention)");
        }
        return allocate(backend, batch, heads, keyDim, valueDim, lookback, lookback + 1, dtype);
    }

    /**
     * An empty KV cache for full causal attention that holds at most {@code maxTokens} tokens.
     *
     * @throws IllegalArgumentException when a size is below 1
     */
    public static WindowState growing(
            Backend backend, int batch, int heads, int keyDim, int valueDim, int maxTokens, DType dtype) {
        StateChecks.positive("maxTokens", maxTokens);
        return allocate(backend, batch, heads, keyDim, valueDim, Integer.MAX_VALUE, maxTokens, dtype);
    }

    private static WindowState allocate(Backend backend, int batch, int heads, int keyDim, int valueDim,
            int lookback, int capacity, DType dtype) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(dtype, "dtype");
        StateChecks.positive("batch", batch);
        StateChecks.positive("heads", heads);
        StateChecks.positive("keyDim", keyDim);
        StateChecks.positive("valueDim", valueDim);
        Tensor k = backend.allocate(Shape.of(batch, heads, capacity, keyDim), dtype);
        try {
            return new WindowState(k, backend.allocate(Shape.of(batch, heads, capacity, valueDim), dtype), lookback, 0);
        } catch (RuntimeException e) {
            k.close();
            throw e;
        }
    }

    /** Restores a snapshot onto {@code backend}, converting to {@code dtype}. */
    public static WindowState restore(Backend backend, StateSnapshot snapshot, DType dtype) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(snapshot, "snapshot");
        StateChecks.kind(snapshot, StateSnapshot.Kind.WINDOW);
        HostTensor k = snapshot.tensor("keys");
        HostTensor v = snapshot.tensor("values");
        int lookback = snapshot.meta("lookback");
        if (k.shape().rank() != 4 || v.shape().rank() != 4 || k.shape().dim(0) != v.shape().dim(0)
                || k.shape().dim(1) != v.shape().dim(1) || k.shape().dim(2) != v.shape().dim(2)) {
            throw new IllegalArgumentException(
                    "snapshot: keys " + k.shape() + " and values " + v.shape() + " do not form a window ring");
        }
        if (lookback != Integer.MAX_VALUE && k.shape().dim(2) != lookback + 1) {
            throw new IllegalArgumentException("snapshot: ring capacity " + k.shape().dim(2)
                    + " does not match lookback " + lookback + " (expected lookback + 1)");
        }
        Tensor kt = backend.upload(k.to(dtype));
        try {
            return new WindowState(kt, backend.upload(v.to(dtype)), lookback, snapshot.position());
        } catch (RuntimeException e) {
            kt.close();
            throw e;
        }
    }

    /** @return {@code [batch, heads, capacity, keyDim]} */
    public Tensor keys() {
        return keys;
    }

    /** @return {@code [batch, heads, capacity, valueDim]} */
    public Tensor values() {
        return values;
    }

    /** @return previous tokens each query sees, or {@link dev.based4j.attention.SlidingWindowSpec#UNBOUNDED} */
    public int lookback() {
        return lookback;
    }

    /** @return ring slots */
    public int capacity() {
        return keys.shape().dim(2);
    }

    /** @return tokens currently held: {@code min(position, capacity)} */
    public int length() {
        return (int) Math.min(position, capacity());
    }

    /** @return the slot of absolute position {@code p} */
    public int slotOf(long p) {
        return (int) (p % capacity());
    }

    @Override
    public Backend backend() {
        return keys.backend();
    }

    @Override
    public DType dtype() {
        return keys.dtype();
    }

    @Override
    public int batch() {
        return keys.shape().dim(0);
    }

    /** @return heads */
    public int heads() {
        return keys.shape().dim(1);
    }

    /** @return q/k head dimension */
    public int keyDim() {
        return keys.shape().dim(3);
    }

    /** @return value head dimension */
    public int valueDim() {
        return values.shape().dim(3);
    }

    @Override
    public long position() {
        return position;
    }

    /** Records that {@code tokens} more tokens were consumed; kernels reach it through StatePositions. */
    void advance(long tokens) {
        StateChecks.advance(this, tokens);
        position += tokens;
    }

    @Override
    public long sizeInBytes() {
        return (keys.shape().elementCount() + values.shape().elementCount()) * keys.dtype().byteSize();
    }

    @Override
    public StateSnapshot snapshot() {
        Backend b = backend();
        return new StateSnapshot(StateSnapshot.Kind.WINDOW, position, List.of(new StateSnapshot.Meta("lookback", lookback)),
                List.of(new StateSnapshot.Entry("keys", b.download(keys)),
                        new StateSnapshot.Entry("values", b.download(values))));
    }

    @Override
    public boolean isClosed() {
        return keys.isClosed() || values.isClosed();
    }

    @Override
    public void close() {
        try (values) {
            keys.close();
        }
    }

    @Override
    public String toString() {
        return "WindowState[" + dtype().label() + " keys " + keys.shape() + ", lookback "
                + (lookback == Integer.MAX_VALUE ? "unbounded" : String.valueOf(lookback)) + ", position " + position + "]";
    }
}
