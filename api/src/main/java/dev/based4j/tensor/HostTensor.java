package dev.based4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A row-major tensor in native host memory, as a {@link MemorySegment}. Its lifetime is that of the arena it
 * was allocated from; the factories without an arena use {@link Arena#ofAuto()} (freed by the garbage
 * collector). Elements are little-endian, as in the golden files and the state format.
 */
public final class HostTensor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    private final Shape shape;
    private final DType dtype;
    private final MemorySegment segment;

    private HostTensor(Shape shape, DType dtype, MemorySegment segment) {
        this.shape = shape;
        this.dtype = dtype;
        this.segment = segment;
    }

    /** Allocates a zero-filled tensor from {@code arena}. */
    public static HostTensor allocate(Arena arena, Shape shape, DType dtype) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(dtype, "dtype");
        MemorySegment seg = arena.allocate(Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize()), 64);
        return new HostTensor(shape, dtype, seg);
    }

    /** Allocates a zero-filled tensor freed by the garbage collector. */
    public static HostTensor allocate(Shape shape, DType dtype) {
        return allocate(Arena.ofAuto(), shape, dtype);
    }

    /**
     * Views an existing segment (for example a memory-mapped weight file) without copying.
     *
     * @throws IllegalArgumentException when the segment's size is not {@code elementCount * byteSize}
     */
    public static HostTensor wrap(MemorySegment segment, Shape shape, DType dtype) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(dtype, "dtype");
        long expected = shape.elementCount() * dtype.byteSize();
        if (segment.byteSize() != expected) {
            throw new IllegalArgumentException("segment: expected " + expected + " bytes for " + dtype.label() + " "
                    + shape + ", got " + segment.byteSize());
        }
        return new HostTensor(shape, dtype, segment);
    }

    /** Copies {@code data} into a new F32 tensor of {@code shape}. */
    public static HostTensor of(float[] data, Shape shape) {
        checkLength(data == null ? -1 : data.length, shape);
        HostTensor t = allocate(shape, DType.F32);
        MemorySegment.copy(data, 0, t.segment, F32, 0, data.length);
        return t;
    }

    /** Copies {@code data} into a new F64 tensor of {@code shape}. */
    public static HostTensor of(double[] data, Shape shape) {
        checkLength(data == null ? -1 : data.length, shape);
        HostTensor t = allocate(shape, DType.F64);
        MemorySegment.copy(data, 0, t.segment, F64, 0, data.length);
        return t;
    }

    /**
     * Copies {@code data} into a new tensor of {@code shape} stored as {@code dtype} (rounding to the nearest value of
     * the type; for {@link DType#I8}, to the nearest integer, which must lie in -128..127).
     */
    public static HostTensor of(double[] data, Shape shape, DType dtype) {
        checkLength(data == null ? -1 : data.length, shape);
        HostTensor t = allocate(shape, dtype);
        if (dtype == DType.F64) {
            MemorySegment.copy(data, 0, t.segment, F64, 0, data.length);
        } else {
            for (int i = 0; i < data.length; i++) {
                t.setDouble(i, data[i]);
            }
        }
        return t;
    }

    private static void checkLength(int length, Shape shape) {
        Objects.requireNonNull(shape, "shape");
        if (length < 0) {
            throw new IllegalArgumentException("data: expected an array, got null");
        }
        if (length != shape.elementCount()) {
            throw new IllegalArgumentException(
                    "data: expected " + shape.elementCount() + " elements for shape " + shape + ", got " + length);
        }
    }

    /** @return the dimensions */
    public Shape shape() {
        return shape;
    }

    /** @return the element type */
    public DType dtype() {
        return dtype;
    }

    /** @return the backing memory, {@code elementCount * byteSize} bytes */
    public MemorySegment segment() {
        return segment;
    }

    /** @return element {@code index} (row-major) widened to double ({@link DType#I8}: the integer itself) */
    public double getDouble(long index) {
        return switch (dtype) {
            case F64 -> segment.getAtIndex(F64, index);
            case F32 -> segment.getAtIndex(F32, index);
            case BF16 -> DType.fromBf16(segment.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index));
            case F16 -> Float.float16ToFloat(segment.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index));
            case I8 -> segment.get(ValueLayout.JAVA_BYTE, index);
        };
    }

    /**
     * Sets element {@code index} (row-major), rounded to the nearest value of the type.
     *
     * @throws IllegalArgumentException for {@link DType#I8} when the value, rounded, is not in -128..127
     */
    public void setDouble(long index, double value) {
        switch (dtype) {
            case F64 -> segment.setAtIndex(F64, index, value);
            case F32 -> segment.setAtIndex(F32, index, (float) value);
            case BF16 -> segment.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index, DType.toBf16((float) value));
            case F16 -> segment.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index, Float.floatToFloat16((float) value));
            case I8 -> {
                long r = Math.round(value);
                if (!(r >= Byte.MIN_VALUE && r <= Byte.MAX_VALUE) || Double.isNaN(value)) {
                    throw new IllegalArgumentException("value: expected an int8 in -128..127, got " + value);
                }
                segment.set(ValueLayout.JAVA_BYTE, index, (byte) r);
            }
        }
    }

    /** @return a copy of all elements widened to double */
    public double[] toDoubleArray() {
        int n = Math.toIntExact(shape.elementCount());
        double[] out = new double[n];
        if (dtype == DType.F64) {
            MemorySegment.copy(segment, F64, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = getDouble(i);
            }
        }
        return out;
    }

    /** @return a copy of all elements as float (rounding F64; BF16, F16 and I8 convert exactly) */
    public float[] toFloatArray() {
        int n = Math.toIntExact(shape.elementCount());
        float[] out = new float[n];
        if (dtype == DType.F32) {
            MemorySegment.copy(segment, F32, 0, out, 0, n);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = (float) getDouble(i);
            }
        }
        return out;
    }

    /** @return a new tensor with the same shape and values stored as {@code target} */
    public HostTensor to(DType target) {
        Objects.requireNonNull(target, "target");
        HostTensor out = allocate(shape, target);
        if (target == dtype) {
            out.segment.copyFrom(segment);
        } else {
            long n = shape.elementCount();
            for (long i = 0; i < n; i++) {
                out.setDouble(i, getDouble(i));
            }
        }
        return out;
    }

    /** @return a view with another shape of the same element count (no copy) */
    public HostTensor reshape(Shape newShape) {
        Objects.requireNonNull(newShape, "newShape");
        if (newShape.elementCount() != shape.elementCount()) {
            throw new IllegalArgumentException("newShape: expected " + shape.elementCount() + " elements like " + shape
                    + ", got " + newShape + " with " + newShape.elementCount());
        }
        return new HostTensor(newShape, dtype, segment);
    }

    @Override
    public String toString() {
        return "HostTensor[" + dtype.label() + " " + shape + "]";
    }
}
