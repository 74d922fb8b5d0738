package org.example.heap;

import dev.based4j.spi.Allocation;
import dev.based4j.spi.Memory;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Tensors as segments over {@code long[]} arrays on the Java heap: 8-byte aligned, zero-filled, freed by the
 * garbage collector (so nothing to free and no native bytes to count). Elements are read and written with the
 * unaligned little-endian layouts of {@link DType}, as in host tensors.
 */
final class HeapMemory implements Memory<MemorySegment> {
    @Override
    public Allocation<MemorySegment> allocate(Shape shape, DType dtype) {
        long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
        if (bytes > (long) Integer.MAX_VALUE * Long.BYTES) {
            throw new IllegalArgumentException("shape: " + shape + " of " + dtype.label() + " needs " + bytes
                    + " bytes, more than one Java array holds");
        }
        long[] words = new long[(int) ((bytes + 7) / 8)];
        return Allocation.unowned(MemorySegment.ofArray(words).asSlice(0, bytes));
    }

    @Override
    public Allocation<MemorySegment> upload(HostTensor host) {
        Allocation<MemorySegment> a = allocate(host.shape(), host.dtype());
        MemorySegment.copy(host.segment(), 0, a.buffer(), 0, a.buffer().byteSize());
        return a;
    }

    @Override
    public void download(MemorySegment source, HostTensor destination) {
        MemorySegment.copy(source, 0, destination.segment(), 0, source.byteSize());
    }

    /** @return element {@code i} of {@code s} as a double */
    static double get(MemorySegment s, DType dtype, long i) {
        return dtype == DType.F64 ? s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i)
                : s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
    }

    /** Stores {@code v} as element {@code i} of {@code s}, rounded to float for F32. */
    static void set(MemorySegment s, DType dtype, long i, double v) {
        if (dtype == DType.F64) {
            s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
        } else {
            s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) v);
        }
    }
}
