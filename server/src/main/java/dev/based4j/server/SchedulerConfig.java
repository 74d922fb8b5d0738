package dev.based4j.server;

/**
 * How a {@link Scheduler} batches.
 *
 * @param maxSequences sequences that hold a state at once (prefilling or decoding), ≥ 1; each costs
 *     {@link SequenceRunner#stateBytes()} of memory
 * @param maxQueue requests that may wait for a free sequence slot, ≥ 0; one more is refused
 * @param prefillChunk prompt tokens per prefill item, ≥ 1; chunks start at its multiples, and the prefix cache keeps
 *     prefixes of its multiples
 * @param prefillTokensPerStep prompt tokens a step may prefill besides its decodes, ≥ 1; whole chunks only, and at
 *     least one chunk per step whatever the budget, so a prompt always advances
 */
public record SchedulerConfig(int maxSequences, int maxQueue, int prefillChunk, int prefillTokensPerStep) {
    /** Most sequences accepted. */
    public static final int MAX_SEQUENCES = 4096;

    /** Validates every field. */
    public SchedulerConfig {
        if (maxSequences < 1 || maxSequences > MAX_SEQUENCES) {
            throw new IllegalArgumentException("maxSequences: expected 1.." + MAX_SEQUENCES + ", got " + maxSequences);
        }
        if (maxQueue < 0) {
            throw new IllegalArgumentException("maxQueue: expected >= 0, got " + maxQueue);
        }
        if (prefillChunk < 1 || prefillChunk > 1 << 20) {
            throw new IllegalArgumentException("prefillChunk: expected 1..1048576, got " + prefillChunk);
        }
        if (prefillTokensPerStep < 1) {
            throw new IllegalArgumentException("prefillTokensPerStep: expected >= 1, got " + prefillTokensPerStep);
        }
    }

    /** 64 sequences, a queue of 256, chunks of 256 tokens, one chunk per step. */
    public static SchedulerConfig defaults() {
        return new SchedulerConfig(64, 256, 256, 256);
    }
}
