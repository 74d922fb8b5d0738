package dev.based4j.internal;

import dev.based4j.Backend;
import dev.based4j.spi.Allocation;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The tensor of every backend made from an engine: shape, type, owner, the engine's memory handle, the closed-state
 * bookkeeping (using a closed tensor fails with a message that says where it was closed) and the guard that refuses
 * two threads writing one tensor at once. Its memory is freed exactly once: on {@link #close()}, when the owning
 * backend is closed, or by a cleaner when the tensor became unreachable without being closed.
 *
 * @param <B> the engine's memory handle
 */
public final class DeviceTensor<B> implements Tensor {
    /** Frames looked at to say where a tensor was closed: a full walk would cost every close microseconds. */
    private static final int CLOSE_FRAMES = 12;

    private final Shape shape;
    private final DType dtype;
    private final KernelBackend<B> owner;
    private final TensorMemory<B> memory;
    /** The tensor whose memory a view shows, or null for a tensor that owns its memory. */
    private final DeviceTensor<B> base;
    private final AtomicReference<Thread> writer = new AtomicReference<>();
    private volatile String closedAt;
    /** Whether an execution plan owns it: close() then leaves it to the plan. */
    private volatile boolean held;

    /** Takes ownership of {@code allocation}; if this throws, the allocation has been freed. */
    DeviceTensor(Shape shape, DType dtype, KernelBackend<B> owner, AllocationLedger ledger, Allocation<B> allocation) {
        this.shape = shape;
        this.dtype = dtype;
        this.owner = owner;
        this.memory = new TensorMemory<>(ledger, allocation, owner.name() + " tensor[" + dtype.label() + " " + shape + "]");
        this.base = null;
        ledger.add(memory);
        memory.watch(this);
    }

    /** A view of {@code base}'s memory with another shape of the same element count. */
    private DeviceTensor(DeviceTensor<B> base, Shape shape) {
        DeviceTensor<B> root = base.base != null ? base.base : base;
        this.shape = shape;
        this.dtype = root.dtype;
        this.owner = root.owner;
        this.memory = root.memory;
        this.base = root;
    }

    /** @return a view of this tensor's memory as {@code shape}; the caller checked the element count */
    DeviceTensor<B> view(Shape shape) {
        return new DeviceTensor<>(this, shape);
    }

    @Override
    public Shape shape() {
        return shape;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public Backend backend() {
        return owner;
    }

    KernelBackend<B> owner() {
        return owner;
    }

    /** @return the engine's memory handle; valid while the tensor is open */
    public B buffer() {
        return memory.buffer();
    }

    /** @return bytes of native memory this tensor holds, as the engine declared them */
    public long nativeBytes() {
        return memory.bytes();
    }

    /** Puts memory of the same shape and type in place of this tensor's (a state restored from a backup). */
    void replace(Allocation<B> next) {
        memory.replace(next);
    }

    @Override
    public boolean isClosed() {
        return closedAt != null || memory.isFreed() || base != null && base.isClosed();
    }

    /** @return where {@link #close()} was called, or {@code null} while open */
    public String closedAt() {
        if (closedAt == null && base != null && base.isClosed()) {
            return base.closedAt();
        }
        String at = closedAt;
        return at == null && memory.isFreed() ? "the closing of backend " + owner.name() : at;
    }

    /** Hands the tensor to an execution plan: {@link #close()} no longer frees it, {@link #release()} does. */
    void hold() {
        held = true;
    }

    /** @return whether this is a view of another tensor's memory (closing it frees nothing) */
    boolean isView() {
        return base != null;
    }

    /** Frees a tensor an execution plan held. */
    void release() {
        held = false;
        close();
    }

    @Override
    public void close() {
        if (held) {
            return;
        }
        synchronized (this) {
            if (closedAt != null) {
                return;
            }
            if (base != null) {
                // a view frees nothing: it only stops being usable
                closedAt = "a close() of the view";
                return;
            }
            closedAt = StackWalker.getInstance()
                    .walk(frames -> frames.limit(CLOSE_FRAMES).filter(f -> !f.getClassName().startsWith("dev.based4j.internal.")
                                    && !f.getClassName().startsWith("dev.based4j.state."))
                            .findFirst()
                            .map(f -> f.getClassName() + "." + f.getMethodName() + ":" + f.getLineNumber())
                            .orElse("unknown"));
        }
        memory.free(TensorMemory.Reason.CLOSED);
    }

    /**
     * Marks the start of a kernel writing this tensor.
     *
     * @throws IllegalStateException naming {@code name} when another thread is writing it now
     */
    void beginWrite(String name) {
        if (base != null) {
            base.beginWrite(name);
            return;
        }
        Thread me = Thread.currentThread();
        Thread other = writer.compareAndExchange(null, me);
        if (other != null && other != me) {
            throw concurrent(name, other, "written");
        }
    }

    /** Marks the end of a write begun by {@link #beginWrite}. */
    void endWrite() {
        if (base != null) {
            base.endWrite();
            return;
        }
        writer.compareAndSet(Thread.currentThread(), null);
    }

    /**
     * Checks that no other thread writes this tensor now (a kernel reading it would see a half-written value).
     *
     * @throws IllegalStateException naming {@code name} when another thread is writing it now
     */
    void checkNotWritten(String name) {
        if (base != null) {
            base.checkNotWritten(name);
            return;
        }
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
        return base == null ? memory.describe() : owner.name() + " view[" + dtype.label() + " " + shape + "] of " + base;
    }
}
