package dev.based4j.onnx;

import dev.based4j.spi.AbstractTensor;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A tensor of the ONNX Runtime backend: row-major elements in native host memory (a {@link MemorySegment} of its
 * own shared {@link Arena}), handed to ONNX Runtime without copying as the direct buffer of an
 * {@code ai.onnxruntime.OnnxTensor} view, both as input and as pre-allocated ("pinned") output. With the CPU
 * execution provider no data moves between calls; with the CUDA provider ONNX Runtime copies inputs to the
 * device and outputs back on every call.
 *
 * <p>Kernels that update a state write the new state into fresh memory and then swap it in, so a kernel that
 * fails leaves the state as it was. Size limit: 2 GiB per tensor (a Java buffer's capacity).
 */
public final class OnnxBackendTensor extends AbstractTensor {
    private final Memory memory;

    private OnnxBackendTensor(Shape shape, DType dtype, OnnxBackend owner, Memory memory) {
        // the free action closes the memory holder, never the tensor: the cleaner needs the tensor unreachable
        super(shape, dtype, owner, memory.segment().byteSize(), memory::close);
        this.memory = memory;
    }

    /** A zero-filled tensor. */
    static OnnxBackendTensor allocate(Shape shape, DType dtype, OnnxBackend owner) {
        long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape: " + shape + " of " + dtype.label() + " needs " + bytes
                    + " bytes; the onnx backend holds at most 2147483647 bytes per tensor");
        }
        return new OnnxBackendTensor(shape, dtype, owner, new Memory(bytes));
    }

    /** @return the memory (valid until the tensor is closed or its contents are swapped) */
    MemorySegment segment() {
        return memory.segment();
    }

    /** @return a direct buffer over the memory in native order, as ONNX Runtime takes it */
    ByteBuffer buffer() {
        return segment().asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /** Replaces the contents by memory of the same size (a state's new value) and frees the old memory. */
    void swapIn(Arena newArena, MemorySegment newSegment) {
        memory.swap(newArena, newSegment);
    }

    /** The arena currently holding a tensor's elements; swapped when a state kernel commits. */
    private static final class Memory {
        private Arena arena;
        private MemorySegment segment;

        Memory(long bytes) {
            Arena a = Arena.ofShared();
            try {
                segment = a.allocate(bytes, 64);
            } catch (RuntimeException | Error e) {
                a.close();
                throw e;
            }
            arena = a;
        }

        synchronized MemorySegment segment() {
            return segment;
        }

        void swap(Arena newArena, MemorySegment newSegment) {
            Arena old;
            synchronized (this) {
                old = arena;
                arena = newArena;
                segment = newSegment;
            }
            old.close();
        }

        synchronized void close() {
            arena.close();
        }
    }
}
