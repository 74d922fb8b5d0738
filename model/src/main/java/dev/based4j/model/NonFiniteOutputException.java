package dev.based4j.model;

import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * A model produced logits that are not finite (NaN or infinite), so nothing can be sampled from them. The message
 * names the first stage of the model whose output is not finite, found by re-running the tokens stage by stage
 * ({@link BasedModel#locateNonFinite(int[])}): the embedding, a block (with its index and mixer, the weights under
 * {@code transformer.layers.<i>.}), the final norm or the LM head. Non-finite weights in a checkpoint are the usual
 * cause.
 */
public final class NonFiniteOutputException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    private final transient BasedModel.NonFiniteStage stage;

    /**
     * @param message what was not finite and where
     * @param stage the first stage whose output is not finite, or null when it could not be located
     */
    public NonFiniteOutputException(String message, BasedModel.NonFiniteStage stage) {
        super(message);
        this.stage = stage;
    }

    /** @return the index of the first block whose output is not finite, if a block was found to be first */
    public OptionalInt layer() {
        return stage == null || stage.layer() < 0 ? OptionalInt.empty() : OptionalInt.of(stage.layer());
    }

    /** @return the position of the first token whose output is not finite at that stage, if located */
    public OptionalLong position() {
        return stage == null ? OptionalLong.empty() : OptionalLong.of(stage.position());
    }

    /** @return the stage in words (e.g. {@code block 3 (sliding window)}), or empty text when not located */
    public String stage() {
        return stage == null ? "" : stage.description();
    }
}
