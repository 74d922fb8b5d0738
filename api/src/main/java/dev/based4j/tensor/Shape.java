package dev.based4j.tensor;

import java.util.Arrays;

/**
 * The dimensions of a row-major tensor. Immutable; every dimension is at least 1 and the element count fits
 * in a {@code long}.
 */
public final class Shape {
    private final int[] dims;
    private final long elementCount;

    private Shape(int[] dims) {
        this.dims = dims;
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 1) {
                throw new IllegalArgumentException(
                        "shape: dimension " + i + " must be >= 1, got " + dims[i] + " in " + Arrays.toString(dims));
            }
            n = Math.multiplyExact(n, dims[i]);
        }
        this.elementCount = n;
    }

    /**
     * @param dims the dimensions, outermost first; at least one
     * @throws IllegalArgumentException when there are none or one is below 1
     */
    public static Shape of(int... dims) {
        if (dims == null || dims.length == 0) {
            throw new IllegalArgumentException("shape: expected at least one dimension, got none");
        }
        return new Shape(dims.clone());
    }

    /** @return the number of dimensions */
    public int rank() {
        return dims.length;
    }

    /** @return dimension {@code i}; negative {@code i} counts from the end ({@code -1} is the last) */
    public int dim(int i) {
        int j = i < 0 ? dims.length + i : i;
        if (j < 0 || j >= dims.length) {
            throw new IndexOutOfBoundsException("shape: dimension index " + i + " out of range for rank " + dims.length);
        }
        return dims[j];
    }

    /** @return a copy of the dimensions */
    public int[] dims() {
        return dims.clone();
    }

    /** @return the product of the dimensions */
    public long elementCount() {
        return elementCount;
    }

    /** @return the same shape with the last dimension replaced */
    public Shape withLast(int last) {
        int[] d = dims.clone();
        d[d.length - 1] = last;
        return new Shape(d);
    }

    /** @return the same shape with dimension {@code i} replaced */
    public Shape with(int i, int value) {
        int[] d = dims.clone();
        d[i < 0 ? d.length + i : i] = value;
        return new Shape(d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** @return e.g. {@code [2, 4, 100, 16]} */
    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
