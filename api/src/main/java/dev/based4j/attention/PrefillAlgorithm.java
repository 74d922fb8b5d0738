package dev.based4j.attention;

/**
 * How a backend evaluates linear-attention prefill. All forms compute the same function up to rounding; the
 * choice is about speed. Backends may treat a form they lack as {@link #AUTO}.
 */
public enum PrefillAlgorithm {
    /** The backend picks (quadratic for short sequences, chunked for long ones). */
    AUTO,
    /** The masked {@code L×L} form, O(L²): best for short sequences. */
    QUADRATIC,
    /** Chunks of {@code chunkSize} tokens carrying the state between chunks, O(L). */
    CHUNKED,
    /** One token at a time through the recurrent update (the decode step). */
    RECURRENT
}
