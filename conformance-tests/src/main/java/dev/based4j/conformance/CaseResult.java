package dev.based4j.conformance;

import java.util.Objects;

/**
 * The result of running one {@link ConformanceCase} on one backend.
 *
 * @param verdict pass, fail or skip
 * @param maxRelativeError the largest relative error of the compared outputs (the one closest to its tolerance),
 *     {@code NaN} when nothing numeric was compared (bad-input rules, skipped cases)
 * @param tolerance the tolerance that error was held to, {@code NaN} when none
 * @param message what was measured or what went wrong; for a skip, the reason
 * @param error the unexpected exception behind a failure, or null
 */
public record CaseResult(Verdict verdict, double maxRelativeError, double tolerance, String message, Throwable error) {
    /** Requires a verdict and a message. */
    public CaseResult {
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(message, "message");
    }

    /** A case that was not run, with the reason. */
    public static CaseResult skipped(String reason) {
        return new CaseResult(Verdict.SKIP, Double.NaN, Double.NaN, reason, null);
    }

    /** @return whether the verdict is {@link Verdict#PASS} */
    public boolean passed() {
        return verdict == Verdict.PASS;
    }
}
