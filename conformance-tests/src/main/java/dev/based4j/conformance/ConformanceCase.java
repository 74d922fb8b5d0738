package dev.based4j.conformance;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import java.util.function.Supplier;

/**
 * One conformance check: a kernel, layer, state round trip or bad-input rule on seeded inputs (or a golden case),
 * compared with the float64 reference. Cases are immutable data; {@link #run} may be called on any number of
 * backends. Obtain them from {@link Catalogue} and {@link GoldenSet}.
 */
public interface ConformanceCase {
    /** @return the group it belongs to */
    KernelFamily family();

    /** @return what it checks, as a sentence ("linear attention prefill (chunked) matches the float64 reference") */
    String description();

    /** @return the operation it exercises, as the SDK names it ({@code linearAttentionPrefill}, a golden op, ...) */
    String op();

    /** @return the shapes in words ({@code batch 2, heads 3, seq 37, f 8, dv 16}) */
    String shape();

    /** @return the precision it runs in */
    DType dtype();

    /** @return the seed of its random inputs, or -1 when it has none (golden cases) */
    long seed();

    /** @return a short unique identifier, stable between runs ({@code linear-attention/17}, {@code golden/NAME/f32}) */
    String id();

    /**
     * Runs the case.
     *
     * @param backend the backend under test; the case frees every tensor it allocates on it
     * @param anotherInstance makes a second, independent instance of the same backend (for restoring a state
     *     elsewhere and for tensors of another backend); the case closes what it gets. Null when unavailable: the
     *     cases that need it are then skipped with that reason
     * @return the verdict, the error measured, the tolerance and a message; never throws
     */
    CaseResult run(Backend backend, Supplier<? extends Backend> anotherInstance);

    /** @return the test name: the description, the shape, the dtype and the seed */
    default String displayName() {
        String s = description() + " — " + shape() + ", " + dtype().label();
        return seed() >= 0 ? s + ", seed " + seed() : s;
    }
}
