package dev.based4j;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.function.Consumer;

/** Helpers of the allocating default methods of {@link Backend}. */
final class Shapes {
    private Shapes() {}

    static void require(String name, Object value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": expected a value, got null");
        }
    }

    /** Allocates the output, runs the kernel, and frees the output when the kernel throws. */
    static Tensor allocating(Backend backend, Shape shape, DType dtype, Consumer<Tensor> kernel) {
        Tensor out = backend.allocate(shape, dtype);
        try {
            kernel.accept(out);
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }
}
