package dev.based4j.server;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * A model as the server offers it.
 *
 * @param name the id clients name in {@code model} and {@code GET /v1/models} lists
 * @param runner runs its sequences; owned by the caller
 * @param codec its text codec, or null when it takes token ids only
 * @param samplingVocab ids that may be generated, {@code [0, samplingVocab)} (the vocabulary without padding)
 * @param endOfText the id that ends a generation unless the request sets {@code ignore_eos}, if any
 */
public record ServedModel(String name, SequenceRunner runner, TokenCodec codec, int samplingVocab,
        OptionalInt endOfText) {
    /** Validates. */
    public ServedModel {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name: expected a non-blank model id, got '" + name + "'");
        }
        Objects.requireNonNull(runner, "runner");
        if (samplingVocab < 1 || samplingVocab > runner.logitsWidth()) {
            throw new IllegalArgumentException("samplingVocab: expected 1.." + runner.logitsWidth() + ", got "
                    + samplingVocab);
        }
        Objects.requireNonNull(endOfText, "endOfText");
        if (endOfText.isPresent() && (endOfText.getAsInt() < 0 || endOfText.getAsInt() >= runner.logitsWidth())) {
            throw new IllegalArgumentException("endOfText: expected an id in [0, " + runner.logitsWidth() + "), got "
                    + endOfText.getAsInt());
        }
    }
}
