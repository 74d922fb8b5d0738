package dev.based4j.spi;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Objects;

/**
 * Base of backend tensors: shape, type, owner and the closed-state bookkeeping, so that using a closed tensor
 * fails with a message that says where it was closed. Subclasses free their memory in {@link #release()}.
 */
public abstract class AbstractTensor implements Tensor {
    private final Shape shape;
    private final DType dtype;
    private final Backend backend;
    private volatile String closedAt;

    /** @param backend the owner */
    protected AbstractTensor(Shape shape, DType dtype, Backend backend) {
        this.shape = Objects.requireNonNull(shape, "shape");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.backend = Objects.requireNonNull(backend, "backend");
    }

    @Override
    public final Shape shape() {
        return shape;
    }

    @Override
    public final DType dtype() {
        return dtype;
    }

    @Override
    public final Backend backend() {
        return backend;
    }

    @Override
    public final boolean isClosed() {
        return closedAt != null;
    }

    /** @return where {@link #close()} was called, or {@code null} while open */
    public final String closedAt() {
        return closedAt;
    }

    @Override
    public final void close() {
        synchronized (this) {
            if (closedAt != null) {
                return;
            }
            closedAt = StackWalker.getInstance()
                    .walk(frames -> frames.filter(f -> !f.getClassName().startsWith("dev.based4j.spi.")
                                    && !f.getClassName().startsWith("dev.based4j.state."))
                            .findFirst()
                            .map(f -> f.getClassName() + "." + f.getMethodName() + ":" + f.getLineNumber())
                            .orElse("unknown"));
        }
        release();
    }

    /** Frees the memory; called once, by {@link #close()}. */
    protected abstract void release();

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + dtype.label() + " " + shape + "]";
    }
}
