package dev.based4j.server;

import dev.based4j.model.TextTokenizer;
import java.util.Objects;

/**
 * Text to token ids and back, for the text prompts and the text of responses. A model served without one takes
 * token-id prompts only and answers with token ids ({@code return_token_ids}) and empty text.
 */
public interface TokenCodec {
    /**
     * @return the ids of {@code text}
     * @throws IllegalArgumentException naming the position of a character the vocabulary cannot spell
     */
    int[] encode(String text);

    /** @return a decoder for one response, fed token by token */
    Decoder decoder();

    /** Turns generated ids into text as they come. */
    interface Decoder {
        /** @return the text token {@code id} completes (possibly empty: part of a character may be held back) */
        String push(int id);

        /** @return whatever is still held back */
        String flush();
    }

    /** @return the codec of a Hugging Face tokenizer (GPT-2 byte-level BPE for the released checkpoints) */
    static TokenCodec of(TextTokenizer tokenizer) {
        Objects.requireNonNull(tokenizer, "tokenizer");
        return new TokenCodec() {
            @Override
            public int[] encode(String text) {
                return tokenizer.encode(text);
            }

            @Override
            public Decoder decoder() {
                TextTokenizer.StreamingDecoder d = tokenizer.streamingDecoder();
                return new Decoder() {
                    @Override
                    public String push(int id) {
                        return d.push(id);
                    }

                    @Override
                    public String flush() {
                        return d.flush();
                    }
                };
            }

            @Override
            public String toString() {
                return tokenizer.toString();
            }
        };
    }
}
