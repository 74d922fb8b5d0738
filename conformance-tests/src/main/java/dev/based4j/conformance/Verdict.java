package dev.based4j.conformance;

/** The outcome of one conformance case. */
public enum Verdict {
    /** Within tolerance and every rule held. */
    PASS,
    /** Out of tolerance, a rule broken, or an unexpected exception. */
    FAIL,
    /** Not run: the backend's capabilities leave out what the case needs (the reason says what). */
    SKIP
}
