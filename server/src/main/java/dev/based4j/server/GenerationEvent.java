package dev.based4j.server;

/** What a {@link Ticket} receives from the scheduler, in order: tokens, then exactly one {@link Done}. */
public sealed interface GenerationEvent {

    /**
     * A generated token.
     *
     * @param id the token id
     * @param index 0 for the first generated token, then 1, 2, ...
     */
    record Token(int id, int index) implements GenerationEvent {}

    /**
     * The end of the sequence.
     *
     * @param reason why it ended
     * @param promptTokens tokens of the prompt
     * @param completionTokens tokens generated
     * @param cachedTokens prompt tokens whose prefill the prefix cache skipped
     * @param message what went wrong, for {@link FinishReason#ERROR}; otherwise null
     */
    record Done(FinishReason reason, int promptTokens, int completionTokens, int cachedTokens, String message)
            implements GenerationEvent {}

    /** Why a sequence ended. */
    enum FinishReason {
        /** It generated the most tokens asked for. */
        LENGTH,
        /** It generated a stop token. */
        STOP,
        /** The client cancelled it (disconnected, or a stop string was found). */
        CANCELLED,
        /** Its deadline passed. */
        DEADLINE,
        /** The server shut down before it finished. */
        SHUTDOWN,
        /** The model failed on it. */
        ERROR
    }
}
