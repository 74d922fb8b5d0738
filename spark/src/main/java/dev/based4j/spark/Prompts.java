package dev.based4j.spark;

import java.util.List;

/**
 * Reads a prompt cell (text, or an array of token ids) into validated token ids, or says why the row cannot be used.
 * A row's problem becomes its error column (or, in strict mode, the job's failure); a configuration problem (text
 * prompts for a folder without a tokenizer) is thrown, since no row could succeed.
 */
final class Prompts {
    /** A prompt after reading: its ids, or what is wrong with it. */
    sealed interface Read {
        /** Valid ids, each in {@code [0, vocabSize)}. */
        record Ids(int[] ids) implements Read {}

        /** Why the row is unusable, a sentence that names the problem and the expected form. */
        record Bad(String problem) implements Read {}
    }

    /** Characters of text accepted per token of {@code maxPromptTokens}, checked before the text is encoded. */
    static final int CHARS_PER_TOKEN = 64;

    private Prompts() {}

    /**
     * @param value a {@link String}, a {@link List} or Scala {@code Seq} of integral numbers, an {@code int[]}, or null
     * @param minTokens 1 for generation, 2 for scoring
     * @param maxTokens the longest prompt accepted
     * @throws IllegalStateException when the value is text and the model folder has no tokenizer
     */
    static Read read(Object value, LoadedModel model, int minTokens, int maxTokens) {
        if (value == null) {
            return new Read.Bad("prompt: null; expected text or an array of token ids");
        }
        int vocab = model.vocabSize();
        if (value instanceof String text) {
            if (model.tokenizer() == null) {
                throw new IllegalStateException("prompt: text needs a tokenizer, and the model folder "
                        + model.folder() + " has none (tokenizer.json, or vocab.json + merges.txt); give prompts as"
                        + " arrays of token ids instead");
            }
            if (text.length() > (long) maxTokens * CHARS_PER_TOKEN) {
                return new Read.Bad("prompt: text of " + text.length() + " characters, more than the "
                        + CHARS_PER_TOKEN + " × maxPromptTokens = " + (long) maxTokens * CHARS_PER_TOKEN
                        + " accepted");
            }
            int[] ids = model.tokenizer().encode(text);
            if (ids.length == 0) {
                return new Read.Bad("prompt: the text " + quote(text) + " encodes to no tokens; expected at least "
                        + minTokens);
            }
            return check(ids, vocab, minTokens, maxTokens, "the text's token");
        }
        List<?> list = asList(value);
        if (list == null) {
            return new Read.Bad("prompt: a " + value.getClass().getSimpleName()
                    + "; expected text or an array of token ids");
        }
        if (list.size() > maxTokens) {
            return new Read.Bad("prompt: " + list.size() + " token ids, more than maxPromptTokens " + maxTokens);
        }
        int[] ids = new int[list.size()];
        for (int i = 0; i < ids.length; i++) {
            Object e = list.get(i);
            if (!(e instanceof Number n)) {
                return new Read.Bad("prompt: element " + i + " is " + (e == null ? "null" : e.getClass().getSimpleName())
                        + "; expected a token id in [0, " + vocab + ")");
            }
            long id = n.longValue();
            if (id < 0 || id >= vocab) {
                return new Read.Bad("prompt: id " + id + " at position " + i + " is outside the vocabulary [0, "
                        + vocab + ")");
            }
            ids[i] = (int) id;
        }
        return check(ids, vocab, minTokens, maxTokens, "id");
    }

    private static Read check(int[] ids, int vocab, int minTokens, int maxTokens, String what) {
        if (ids.length < minTokens) {
            return new Read.Bad(ids.length == 0 ? "prompt: empty; expected at least " + minTokens + " token id"
                    + (minTokens > 1 ? "s" : "")
                    : "prompt: " + ids.length + " token; scoring needs at least " + minTokens
                            + " (the first token is the context of the second)");
        }
        if (ids.length > maxTokens) {
            return new Read.Bad("prompt: " + ids.length + " tokens, more than maxPromptTokens " + maxTokens);
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                return new Read.Bad("prompt: " + what + " " + ids[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        return new Read.Ids(ids);
    }

    private static List<?> asList(Object value) {
        if (value instanceof List<?> l) {
            return l;
        }
        if (value instanceof scala.collection.Seq<?> s) {
            return scala.jdk.javaapi.CollectionConverters.asJava(s);
        }
        if (value instanceof int[] a) {
            return java.util.Arrays.stream(a).boxed().toList();
        }
        if (value instanceof long[] a) {
            return java.util.Arrays.stream(a).boxed().toList();
        }
        return null;
    }

    private static String quote(String text) {
        String t = text.length() > 40 ? text.substring(0, 40) + "..." : text;
        return "\"" + t.replace("\n", "\\n") + "\"";
    }
}
