package dev.based4j.onnx.kernels;

import dev.based4j.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The memory of one tensor of the ONNX Runtime backend: row-major elements in native host memory (a
 * {@link MemorySegment} of its own shared {@link Arena}), handed to ONNX Runtime without copying as the direct buffer
 * of an {@code ai.onnxruntime.OnnxTensor} view, both as input and as pre-allocated ("pinned") output. With the CPU
 * execution provider no data moves between calls; with the CUDA provider ONNX Runtime copies inputs to the device and
 * outputs back on every call.
 *
 * <p>The memory is swappable: a kernel that updates a state writes the new state into {@link #fresh() fresh} memory
 * and {@link #swapIn swaps} it in only after the run succeeded, so a failed run leaves the state as it was.
 *
 * <p>Native code reads the memory through a raw address that the JVM does not guard, so every use holds a
 * {@link Lease}: memory that is swapped out or freed while leased (a tensor closed on one thread while a kernel on
 * another still reads it) stays allocated until the last lease is closed, instead of being freed under ONNX Runtime.
 * Size limit: 2 GiB per tensor (the capacity of a Java buffer).
 */
public final class OnnxBuffer {
    /** Bytes one tensor may hold: the largest direct buffer ONNX Runtime's Java API takes. */
    public static final long MAX_BYTES = Integer.MAX_VALUE;

    private final DType dtype;
    private final long elements;
    private Block current; // guarded by this
    private boolean freed; // guarded by this

    private OnnxBuffer(DType dtype, long elements, Block block) {
        this.dtype = dtype;
        this.elements = elements;
        this.current = block;
    }

    /**
     * Zero-filled memory for {@code elements} elements of {@code dtype}.
     *
     * @throws IllegalArgumentException when it would exceed {@link #MAX_BYTES}
     */
    public static OnnxBuffer allocate(long elements, DType dtype) {
        long bytes = Math.multiplyExact(elements, (long) dtype.byteSize());
        if (elements < 1 || bytes > MAX_BYTES) {
            throw new IllegalArgumentException("shape: " + elements + " elements of " + dtype.label() + " need "
                    + bytes + " bytes; the onnx backend holds 1.." + MAX_BYTES + " bytes per tensor");
        }
        return new OnnxBuffer(dtype, elements, Block.allocate(bytes));
    }

    /** @return the element type */
    public DType dtype() {
        return dtype;
    }

    /** @return the number of elements */
    public long elements() {
        return elements;
    }

    /** @return the size in bytes */
    public long byteSize() {
        return elements * dtype.byteSize();
    }

    /**
     * Leases the current memory: it stays allocated until the lease is closed, whatever happens to the buffer.
     *
     * @throws IllegalStateException when the buffer was freed
     */
    public Lease lease() {
        synchronized (this) {
            if (freed) {
                throw new IllegalStateException("onnx buffer: " + dtype.label() + "[" + elements
                        + "] was freed and used again");
            }
            current.users++;
            return new Lease(this, current);
        }
    }

    /** @return new zero-filled memory of this buffer's size, not yet in use: the target of a state update */
    public Block fresh() {
        return Block.allocate(byteSize());
    }

    /**
     * Makes {@code next} (from {@link #fresh()}) this buffer's memory, and frees the old memory once no lease holds
     * it. When the buffer was freed meanwhile, {@code next} is freed instead.
     */
    public void swapIn(Block next) {
        if (next.segment.byteSize() != byteSize()) {
            throw new IllegalArgumentException("next: expected " + byteSize() + " bytes, got "
                    + next.segment.byteSize());
        }
        Block old;
        synchronized (this) {
            if (freed) {
                old = next;
            } else {
                old = current;
                current = next;
            }
            old.retired = true;
            if (old.users > 0) {
                return;
            }
        }
        old.arena.close();
    }

    /** Frees the memory, at once or when the last lease is closed. Idempotent; may run on any thread. */
    public void free() {
        Block b;
        synchronized (this) {
            if (freed) {
                return;
            }
            freed = true;
            b = current;
            b.retired = true;
            if (b.users > 0) {
                return;
            }
        }
        b.arena.close();
    }

    private void release(Block b) {
        synchronized (this) {
            b.users--;
            if (b.users > 0 || !b.retired) {
                return;
            }
        }
        b.arena.close();
    }

    @Override
    public String toString() {
        return "OnnxBuffer[" + dtype.label() + ", " + elements + " elements]";
    }

    /** One allocation of native memory; replaced as a whole when a state kernel commits. */
    public static final class Block {
        private final Arena arena;
        private final MemorySegment segment;
        private int users; // guarded by the owning buffer
        private boolean retired; // guarded by the owning buffer

        private Block(Arena arena, MemorySegment segment) {
            this.arena = arena;
            this.segment = segment;
        }

        static Block allocate(long bytes) {
            Arena a = Arena.ofShared();
            try {
                return new Block(a, a.allocate(bytes, 64));
            } catch (RuntimeException | Error e) {
                a.close();
                throw e;
            }
        }

        /** @return the memory as the direct buffer, in native order, that ONNX Runtime takes */
        public ByteBuffer byteBuffer() {
            return segment.asByteBuffer().order(ByteOrder.nativeOrder());
        }

        /** Frees memory that never became a buffer's (a state update that was not committed). */
        public void discard() {
            arena.close();
        }
    }

    /** A hold on a buffer's memory while native code or a copy uses it; close it exactly once. */
    public static final class Lease implements AutoCloseable {
        private final OnnxBuffer owner;
        private final Block block;
        private boolean closed;

        private Lease(OnnxBuffer owner, Block block) {
            this.owner = owner;
            this.block = block;
        }

        /** @return the leased memory */
        public MemorySegment segment() {
            return block.segment;
        }

        /** @return the leased memory as the direct buffer, in native order, that ONNX Runtime takes */
        public ByteBuffer byteBuffer() {
            return block.byteBuffer();
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                owner.release(block);
            }
        }
    }
}
