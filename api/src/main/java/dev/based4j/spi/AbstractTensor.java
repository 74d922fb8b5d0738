package dev.based4j.spi;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Base of backend tensors: shape, type, owner, the closed-state bookkeeping (using a closed tensor fails with a
 * message that says where it was closed), the count of native memory in the owner's {@link Backend#allocations()}
 * and the guard that refuses two threads writing one tensor at once.
 *
 * <p>A subclass hands its native memory's size and a free action to
 * {@link #AbstractTensor(Shape, DType, Backend, long, Runnable)}. The free action runs exactly once: on
 * {@link #close()}, when the owning {@link AbstractBackend} is closed, or, for a tensor that became unreachable
 * without being closed, from a {@link java.lang.ref.Cleaner} (reported once per backend through
 * {@link System.Logger}). The free action must not refer to the tensor (a lambda over its fields captures
 * {@code this}): hold the native resource in an object of its own and free that. Tensors written with the older
 * constructor free in {@link #release()} and are counted but not cleaned.
 */
public abstract class AbstractTensor implements Tensor {
    private final Shape shape;
    private final DType dtype;
    private final Backend backend;
    private final NativeMemory memory;
    private final AtomicReference<Thread> writer = new AtomicReference<>();
    private volatile String closedAt;

    /**
     * A tensor whose subclass frees its memory in {@link #release()}. It is counted in its backend's allocations
     * with the bytes its shape and type need, but a tensor collected without {@code close()} is not freed: prefer
     * {@link #AbstractTensor(Shape, DType, Backend, long, Runnable)}.
     *
     * @param backend the owner
     */
    protected AbstractTensor(Shape shape, DType dtype, Backend backend) {
        this.shape = Objects.requireNonNull(shape, "shape");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.memory = new NativeMemory(ledgerOf(backend), shape.elementCount() * dtype.byteSize(), null,
                getClass().getSimpleName(), shape, dtype);
        ledgerOf(backend).add(memory, false);
    }

    /**
     * A tensor whose native memory, already allocated, is freed by {@code free}. If this constructor throws,
     * {@code free} has run.
     *
     * @param backend the owner
     * @param nativeBytes bytes of native memory the tensor holds (0 for a view of memory it does not own)
     * @param free frees the memory; runs once; must not refer to this tensor
     */
    protected AbstractTensor(Shape shape, DType dtype, Backend backend, long nativeBytes, Runnable free) {
        NativeMemory m = null;
        try {
            Objects.requireNonNull(free, "free");
            if (nativeBytes < 0) {
                throw new IllegalArgumentException("nativeBytes: expected >= 0, got " + nativeBytes);
            }
            Objects.requireNonNull(shape, "shape");
            Objects.requireNonNull(dtype, "dtype");
            Objects.requireNonNull(backend, "backend");
            m = new NativeMemory(ledgerOf(backend), nativeBytes, free, getClass().getSimpleName(), shape, dtype);
            ledgerOf(backend).add(m, true);
        } catch (RuntimeException | Error e) {
            if (m == null && free != null) {
                free.run();
            }
            throw e;
        }
        this.shape = shape;
        this.dtype = dtype;
        this.backend = backend;
        this.memory = m;
        m.watch(this);
    }

    private static AllocationLedger ledgerOf(Backend backend) {
        return backend instanceof AbstractBackend ab ? ab.ledger() : AbstractBackend.UNOWNED;
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

    /** @return whether {@link #close()} was called or the owning backend freed the memory when it was closed */
    @Override
    public final boolean isClosed() {
        return closedAt != null || memory.isFreed();
    }

    /** @return where {@link #close()} was called, or {@code null} while open */
    public final String closedAt() {
        String at = closedAt;
        return at == null && memory.isFreed() ? "the closing of backend " + backend.name() : at;
    }

    /** @return bytes of native memory this tensor holds, as counted in its backend's allocations */
    public final long nativeBytes() {
        return memory.bytes();
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
        if (memory.isFreed()) {
            return;
        }
        try {
            release();
        } finally {
            memory.free(NativeMemory.Reason.CLOSED);
        }
    }

    /**
     * Frees the memory of a tensor made with {@link #AbstractTensor(Shape, DType, Backend)}; called once, by
     * {@link #close()}. Tensors with a free action need not override it.
     */
    protected void release() {}

    /**
     * Marks the start of a kernel writing this tensor.
     *
     * @throws IllegalStateException naming {@code name} when another thread is writing it now
     */
    final void beginWrite(String name) {
        Thread me = Thread.currentThread();
        Thread other = writer.compareAndExchange(null, me);
        if (other != null && other != me) {
            throw concurrent(name, other, "written");
        }
    }

    /** Marks the end of a write begun by {@link #beginWrite}. */
    final void endWrite() {
        writer.compareAndSet(Thread.currentThread(), null);
    }

    /**
     * Checks that no other thread writes this tensor now (a kernel reading it would see a half-written value).
     *
     * @throws IllegalStateException naming {@code name} when another thread is writing it now
     */
    final void checkNotWritten(String name) {
        Thread other = writer.get();
        if (other != null && other != Thread.currentThread()) {
            throw concurrent(name, other, "read");
        }
    }

    private IllegalStateException concurrent(String name, Thread other, String access) {
        return new IllegalStateException(name + ": " + this + " cannot be " + access + " now: a kernel on thread '"
                + other.getName() + "' is writing it. A tensor or state may be written by one thread at a time"
                + " (give each thread its own state and outputs; weights may be shared)");
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + dtype.label() + " " + shape + "]";
    }
}
