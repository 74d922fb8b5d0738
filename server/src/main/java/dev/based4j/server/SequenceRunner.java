package dev.based4j.server;

import java.util.List;
import java.util.Objects;

/**
 * What the {@link Scheduler} runs: the model behind a server, seen as many independent sequences that advance
 * together one planned step at a time. One step holds any mix of prefill chunks (several prompt tokens of one
 * sequence) and decode items (one token of one sequence); the runner may run them one after another or as one
 * batched computation, but each item's logits must be exactly those of running it alone: the scheduler's
 * guarantee that a request's tokens do not depend on the other requests rests on that.
 *
 * <p>A runner is called from one thread (the scheduler's). States and saved states it hands out belong to it and
 * are closed by the caller.
 */
public interface SequenceRunner extends AutoCloseable {

    /** @return elements of one row of logits (the padded vocabulary of a checkpoint) */
    int logitsWidth();

    /** @return bytes of memory one sequence's state occupies, whatever its length */
    long stateBytes();

    /**
     * @return the most tokens one sequence may consume (prompt plus generated tokens fed back); unbounded
     *     ({@link Long#MAX_VALUE}) for a model whose state has a fixed size, the KV capacity for full attention
     */
    long maxPositions();

    /** @return a fresh state at position 0; close it when the sequence is done */
    SequenceState open();

    /**
     * Runs one step.
     *
     * @param items at least one; each state appears at most once
     * @return one result per item, in the order of {@code items}
     * @throws IllegalArgumentException when the items are empty, a state is not this runner's or appears twice
     */
    List<ItemResult> step(List<StepItem> items);

    /**
     * @return a copy of {@code state} that outlives it (for the prefix cache); {@link #resume} turns it into a
     *     state bit for bit equal to {@code state} now
     */
    SavedState save(SequenceState state);

    /** @return a new state equal to the one {@code saved} was taken from; {@code saved} stays usable */
    SequenceState resume(SavedState saved);

    /** Frees what the runner owns (not the states it handed out). */
    @Override
    void close();

    /** The state of one sequence. */
    interface SequenceState extends AutoCloseable {
        /** @return tokens consumed so far */
        long position();

        /** Frees it. Idempotent. */
        @Override
        void close();
    }

    /** A copy of a state kept outside the running sequences, for the prefix cache. */
    interface SavedState extends AutoCloseable {
        /** @return tokens the state had consumed */
        long position();

        /** @return bytes of memory it occupies */
        long bytes();

        /** Frees it. Idempotent. */
        @Override
        void close();
    }

    /** One item of a step. */
    sealed interface StepItem {
        /** @return the sequence it advances */
        SequenceState state();
    }

    /**
     * Consumes prompt tokens.
     *
     * @param ids at least one token id
     * @param wantLogits whether the logits of the last token are needed (the last chunk of a prompt)
     */
    record Prefill(SequenceState state, int[] ids, boolean wantLogits) implements StepItem {
        /** Validates; keeps {@code ids} as given (the caller does not change them). */
        public Prefill {
            Objects.requireNonNull(state, "state");
            if (ids == null || ids.length == 0) {
                throw new IllegalArgumentException("ids: expected at least one token id, got "
                        + (ids == null ? "null" : "none"));
            }
        }
    }

    /**
     * Feeds one generated token back.
     *
     * @param id the token
     */
    record Decode(SequenceState state, int id) implements StepItem {
        /** Validates. */
        public Decode {
            Objects.requireNonNull(state, "state");
        }
    }

    /**
     * The outcome of one item: logits of its last token (or null when not asked for), or the error that stopped it.
     * A failed item leaves its state unusable; the other items of the step are unaffected.
     *
     * @param logits {@link #logitsWidth()} values, or null
     * @param error why the item failed, or null
     */
    record ItemResult(float[] logits, RuntimeException error) {
        /** @return a successful result */
        public static ItemResult of(float[] logits) {
            return new ItemResult(logits, null);
        }

        /** @return a failed result */
        public static ItemResult failed(RuntimeException error) {
            return new ItemResult(null, Objects.requireNonNull(error, "error"));
        }
    }
}
