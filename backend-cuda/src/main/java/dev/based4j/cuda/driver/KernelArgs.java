package dev.based4j.cuda.driver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The {@code kernelParams} array of {@code cuLaunchKernel}: one 8-byte slot per argument holding its value, and
 * an array of pointers to the slots. Arguments are appended in the order of the kernel's parameter list, with the
 * C type each one has there ({@code int}, {@code long long}, {@code float}, {@code double} or a device pointer).
 */
public final class KernelArgs {
    private static final int MAX = 32;

    private final MemorySegment values;
    private final MemorySegment pointers;
    private int count;

    /** @param arena owns the arrays; they must live until the launch call returns */
    public KernelArgs(Arena arena) {
        values = arena.allocate(8L * MAX, 8);
        pointers = arena.allocate(ValueLayout.ADDRESS, MAX);
    }

    private MemorySegment next() {
        if (count == MAX) {
            throw new IllegalStateException("kernel arguments: more than " + MAX);
        }
        MemorySegment slot = values.asSlice(8L * count, 8);
        pointers.setAtIndex(ValueLayout.ADDRESS, count, slot);
        count++;
        return slot;
    }

    /** Appends a device pointer ({@code T*}); 0 passes {@code nullptr}. */
    public KernelArgs ptr(long devicePointer) {
        next().set(ValueLayout.JAVA_LONG, 0, devicePointer);
        return this;
    }

    /** Appends an {@code int}. */
    public KernelArgs i32(int value) {
        next().set(ValueLayout.JAVA_INT, 0, value);
        return this;
    }

    /** Appends a {@code long long}. */
    public KernelArgs i64(long value) {
        next().set(ValueLayout.JAVA_LONG, 0, value);
        return this;
    }

    /** Appends a {@code float}. */
    public KernelArgs f32(float value) {
        next().set(ValueLayout.JAVA_FLOAT, 0, value);
        return this;
    }

    /** Appends a {@code double}. */
    public KernelArgs f64(double value) {
        next().set(ValueLayout.JAVA_DOUBLE, 0, value);
        return this;
    }

    /** @return the number of arguments appended */
    public int count() {
        return count;
    }

    /** @return the {@code void**} to pass as {@code kernelParams} */
    public MemorySegment pointerArray() {
        return pointers;
    }
}
