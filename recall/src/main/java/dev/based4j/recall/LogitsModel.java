package dev.based4j.recall;

/**
 * A {@link TokenModel} that exposes its logits; the prediction is their argmax (the lowest id among equal
 * maxima, as {@code torch.argmax} picks the first).
 */
public interface LogitsModel extends TokenModel {
    /** @return the vocabulary size: the length of each logits row */
    int vocabSize();

    /**
     * Logits for a batch.
     *
     * @param tokens {@code [batch][seq]} token ids
     * @return {@code [batch][seq][vocabSize]}: at {@code [b][t]} the scores of the token that follows
     *     {@code tokens[b][0..t]}
     */
    float[][][] logits(int[][] tokens);

    /** Argmax of {@link #logits(int[][])}. */
    @Override
    default int[][] predict(int[][] tokens) {
        float[][][] logits = logits(tokens);
        if (logits == null || logits.length != tokens.length) {
            throw new IllegalStateException("logits: expected " + tokens.length + " rows, got "
                    + (logits == null ? "null" : logits.length));
        }
        int[][] out = new int[tokens.length][];
        for (int b = 0; b < tokens.length; b++) {
            out[b] = new int[logits[b].length];
            for (int t = 0; t < logits[b].length; t++) {
                out[b][t] = argmax(logits[b][t]);
            }
        }
        return out;
    }

    /** @return the index of the largest value, the first one among equals */
    static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[best]) {
                best = i;
            }
        }
        return best;
    }
}
