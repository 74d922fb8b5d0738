package dev.based4j.state;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.Objects;

/**
 * Linear-attention state in the canonical layout: {@code kv[b,h,e,d] = Σ_t v_t[e]·φ(k_t)[d]} of shape
 * {@code [batch, heads, valueDim, expandedDim]} (value dimension first, as the reference code's
 * {@code kv_state}) and {@code z[b,h,d] = Σ_t φ(k_t)[d]} of shape {@code [batch, heads, expandedDim]}.
 */
public final class LinearAttentionState implements RecurrentState {
    private final Tensor kv;
    private final Tensor z;
    private long position;

    private LinearAttentionState(Tensor kv, Tensor z, long position) {
        this.kv = kv;
        this.z = z;
        this.position = position;
    }

    /**
     * A zero state (no tokens seen).
     *
     * @throws IllegalArgumentException naming the first dimension below 1
     */
    public static LinearAttentionState zeros(
            Backend backend, int batch, int heads, int expandedDim, int valueDim, DType dtype) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(dtype, "dtype");
        StateChecks.positive("batch", batch);
        StateChecks.positive("heads", heads);
        StateChecks.positive("expandedDim", expandedDim);
        StateChecks.positive("valueDim", valueDim);
        Tensor kv = backend.allocate(Shape.of(batch, heads, valueDim, expandedDim), dtype);
        try {
            return new LinearAttentionState(kv, backend.allocate(Shape.of(batch, heads, expandedDim), dtype), 0);
        } catch (RuntimeException e) {
            kv.close();
            throw e;
        }
    }

    /**
     * Restores a snapshot onto {@code backend}, converting to {@code dtype}.
     *
     * @throws IllegalArgumentException when the snapshot is not a linear-attention state or is inconsistent
     */
    public static LinearAttentionState restore(Backend backend, StateSnapshot snapshot, DType dtype) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(snapshot, "snapshot");
        StateChecks.kind(snapshot, StateSnapshot.Kind.LINEAR_ATTENTION);
        HostTensor kvHost = snapshot.tensor("kv");
        HostTensor zHost = snapshot.tensor("z");
        Shape s = kvHost.shape();
        if (s.rank() != 4 || !zHost.shape().equals(Shape.of(s.dim(0), s.dim(1), s.dim(3)))) {
            throw new IllegalArgumentException("snapshot: kv " + s + " and z " + zHost.shape()
                    + " do not form a linear-attention state ([b,h,dv,D] and [b,h,D])");
        }
        Tensor kv = backend.upload(kvHost.to(dtype));
        try {
            return new LinearAttentionState(kv, backend.upload(zHost.to(dtype)), snapshot.position());
        } catch (RuntimeException e) {
            kv.close();
            throw e;
        }
    }

    /** @return {@code [batch, heads, valueDim, expandedDim]} */
    public Tensor kv() {
        return kv;
    }

    /** @return {@code [batch, heads, expandedDim]} */
    public Tensor z() {
        return z;
    }

    @Override
    public Backend backend() {
        return kv.backend();
    }

    @Override
    public DType dtype() {
        return kv.dtype();
    }

    @Override
    public int batch() {
        return kv.shape().dim(0);
    }

    /** @return heads */
    public int heads() {
        return kv.shape().dim(1);
    }

    /** @return dv */
    public int valueDim() {
        return kv.shape().dim(2);
    }

    /** @return D, the feature map's output dimension */
    public int expandedDim() {
        return kv.shape().dim(3);
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
        return (kv.shape().elementCount() + z.shape().elementCount()) * kv.dtype().byteSize();
    }

    @Override
    public StateSnapshot snapshot() {
        Backend b = backend();
        return new StateSnapshot(StateSnapshot.Kind.LINEAR_ATTENTION, position, List.of(),
                List.of(new StateSnapshot.Entry("kv", b.download(kv)), new StateSnapshot.Entry("z", b.download(z))));
    }

    @Override
    public boolean isClosed() {
        return kv.isClosed() || z.isClosed();
    }

    @Override
    public void close() {
        try (z) {
            kv.close();
        }
    }

    @Override
    public String toString() {
        return "LinearAttentionState[" + dtype().label() + " kv " + kv.shape() + ", position " + position + "]";
    }
}
