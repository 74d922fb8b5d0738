package dev.based4j.conformance;

import dev.based4j.tensor.DType;
import java.util.Locale;
import java.util.Objects;

/**
 * One line of a conformance report: a case run on a backend.
 *
 * @param backend the backend's name
 * @param caseId the case's stable id ({@link ConformanceCase#id()})
 * @param description what the case checks, as a sentence
 * @param family its group
 * @param op the operation it exercises
 * @param shape its shapes in words
 * @param dtype the precision it ran in
 * @param seed the seed of its inputs, -1 when none
 * @param maxRelativeError the relative error measured, {@code NaN} when none
 * @param tolerance the tolerance it was held to, {@code NaN} when none
 * @param verdict pass, fail or skip
 * @param message what was measured, what went wrong, or why it was skipped
 */
public record ResultRow(String backend, String caseId, String description, KernelFamily family, String op,
        String shape, DType dtype, long seed, double maxRelativeError, double tolerance, Verdict verdict,
        String message) {
    /** Requires the text fields and the verdict. */
    public ResultRow {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(caseId, "caseId");
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(message, "message");
    }

    /** @return a row for {@code c}'s result on {@code backend} */
    public static ResultRow of(String backend, ConformanceCase c, CaseResult r) {
        return new ResultRow(backend, c.id(), c.description(), c.family(), c.op(), c.shape(), c.dtype(), c.seed(),
                r.maxRelativeError(), r.tolerance(), r.verdict(), r.message());
    }

    /** @return the error in scientific notation, or {@code -} when none was measured */
    public String errorText() {
        return Double.isNaN(maxRelativeError) ? "-" : String.format(Locale.ROOT, "%.2e", maxRelativeError);
    }

    /** @return the tolerance in scientific notation, or {@code -} when none */
    public String toleranceText() {
        return Double.isNaN(tolerance) ? "-" : String.format(Locale.ROOT, "%.0e", tolerance);
    }
}
