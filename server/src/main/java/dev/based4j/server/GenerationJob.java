package dev.based4j.server;

import dev.based4j.model.GenerationOptions;
import java.util.Objects;

/**
 * One sequence to generate, as the scheduler takes it.
 *
 * @param prompt at least one token id, each in {@code [0, logitsWidth)} of the runner
 * @param options sampling, the token limit and the stop tokens (the end-of-text id among them unless ignored)
 * @param deadlineNanos {@link System#nanoTime()} after which the sequence is abandoned
 */
public record GenerationJob(int[] prompt, GenerationOptions options, long deadlineNanos) {
    /** Validates and copies the prompt. */
    public GenerationJob {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("prompt: expected at least one token id, got "
                    + (prompt == null ? "null" : "none"));
        }
        prompt = prompt.clone();
        Objects.requireNonNull(options, "options");
    }
}
