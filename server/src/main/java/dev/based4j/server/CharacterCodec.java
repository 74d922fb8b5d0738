package dev.based4j.server;

/**
 * The character vocabulary of the built-in seeded models, whose 100 ids have no tokenizer of their own: id
 * {@code i < 95} is the printable ASCII character {@code U+0020 + i} (space to tilde), id 95 is a line feed, and
 * ids 96 to 99 are spelled {@code <|96|>} .. {@code <|99|>} (no text encodes to them). It lets text clients talk to
 * a seeded model; the text such a model writes is as random as its weights.
 */
public final class CharacterCodec implements TokenCodec {
    /** Ids the vocabulary spells. */
    public static final int VOCAB_SIZE = 100;
    private static final int PRINTABLE = 95;
    private static final int NEWLINE = 95;

    @Override
    public int[] encode(String text) {
        int[] ids = new int[text.length()];
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x20 && c <= 0x7E) {
                ids[i] = c - 0x20;
            } else if (c == '\n') {
                ids[i] = NEWLINE;
            } else {
                throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                        "character U+%04X at index %d is not in the seeded model's vocabulary (printable ASCII and"
                                + " line feed)", (int) c, i));
            }
        }
        return ids;
    }

    /** @return the text of one id */
    public static String spell(int id) {
        if (id >= 0 && id < PRINTABLE) {
            return String.valueOf((char) (0x20 + id));
        }
        if (id == NEWLINE) {
            return "\n";
        }
        return "<|" + id + "|>";
    }

    @Override
    public Decoder decoder() {
        return new Decoder() {
            @Override
            public String push(int id) {
                return spell(id);
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }

    @Override
    public String toString() {
        return "the seeded models' character vocabulary";
    }
}
