package dev.based4j.spark;

import dev.based4j.Backend;
import dev.based4j.model.BasedModel;
import dev.based4j.model.TextTokenizer;
import java.nio.file.Path;

/**
 * A model as one executor holds it: the backend it runs on, the weights, and the tokenizer of its folder if it has
 * one. Shared by every task of the executor; each task makes its own decode states.
 *
 * @param folder the folder it was loaded from, as resolved on this executor
 * @param tokenizer null when the folder has no tokenizer (prompts must then be token ids)
 */
record LoadedModel(ModelSpec spec, Path folder, Backend backend, BasedModel model, TextTokenizer tokenizer)
        implements AutoCloseable {

    /** @return the ids a prompt may hold and generation may draw: {@code [0, vocabSize)} */
    int vocabSize() {
        return model.config().vocabSize();
    }

    @Override
    public void close() {
        try (backend; model) {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }
}
