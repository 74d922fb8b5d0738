package dev.based4j.state;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.Objects;

/**
 * State of the causal depthwise convolution: the last {@code kernelSize} inputs, oldest first, as
 * {@code [batch, channels, kernelSize]} (the reference code's {@code conv_state}); zeros before the first token.
 */
public final class ConvState implements RecurrentState {
    private final Tensor window;
    private long position;

    private ConvState(Tensor window, long position) {
        this.window = window;
        this.position = position;
    }

    /** A zero state. */
    public static ConvState zeros(Backend backend, int batch, int channels, int kernelSize, DType dtype) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(dtype, "dtype");
        StateChecks.positive("batch", batch);
        StateChecks.positive("channels", channels);
        StateChecks.positive("kernelSize", kernelSize);
        return new ConvState(backend.allocate(Shape.of(batch, channels, kernelSize), dtype), 0);
    }

    /** Restores a snapshot onto {@code backend}, converting to {@code dtype}. */
    public static ConvState restore(Backend backend, StateSnapshot snapshot, DType dtype) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(snapshot, "snapshot");
        StateChecks.kind(snapshot, StateSnapshot.Kind.CONV);
        HostTensor w = snapshot.tensor("window");
        if (w.shape().rank() != 3) {
            throw new IllegalArgumentException("snapshot: window " + w.shape() + " is not [batch, channels, kernel]");
        }
        return new ConvState(backend.upload(w.to(dtype)), snapshot.position());
    }

    /** @return {@code [batch, channels, kernelSize]}, oldest input first */
    public Tensor window() {
        return window;
    }

    /** @return channels */
    public int channels() {
        return window.shape().dim(1);
    }

    /** @return taps */
    public int kernelSize() {
        return window.shape().dim(2);
    }

    @Override
    public Backend backend() {
        return window.backend();
    }

    @Override
    public DType dtype() {
        return window.dtype();
    }

    @Override
    public int batch() {
        return window.shape().dim(0);
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
        return window.shape().elementCount() * window.dtype().byteSize();
    }

    @Override
    public StateSnapshot snapshot() {
        return new StateSnapshot(StateSnapshot.Kind.CONV, position, List.of(),
                List.of(new StateSnapshot.Entry("window", backend().download(window))));
    }

    @Override
    public boolean isClosed() {
        return window.isClosed();
    }

    @Override
    public void close() {
        window.close();
    }

    @Override
    public String toString() {
        return "ConvState[" + dtype().label() + " " + window.shape() + ", position " + position + "]";
    }
}
