package dev.based4j.recall;

/**
 * A language model seen from the outside, as the MQAR evaluator needs it: for each position of each sequence,
 * the token it predicts next (the argmax of its logits). Implement {@link #predict(int[][])}; a model that can
 * skip unscored positions may also override {@link #predictAt(int[][], int[][])}. See {@link LogitsModel} for a
 * model that exposes logits.
 */
@FunctionalInterface
public interface TokenModel {
    /**
     * Next-token predictions for a batch.
     *
     * @param tokens {@code [batch][seq]} token ids; all rows have the same length
     * @return {@code [batch][seq]}: at {@code [b][t]} the token predicted to follow {@code tokens[b][0..t]}
     */
    int[][] predict(int[][] tokens);

    /**
     * Next-token predictions at chosen positions only. The default runs {@link #predict(int[][])} and picks.
     *
     * @param tokens {@code [batch][seq]} token ids
     * @param positions for each sequence, the positions to predict at, each in {@code [0, seq)}
     * @return {@code [batch][positions[b].length]}, in the order of {@code positions}
     */
    default int[][] predictAt(int[][] tokens, int[][] positions) {
        int[][] all = predict(tokens);
        if (all == null || all.length != tokens.length) {
            throw new IllegalStateException("predict: expected " + tokens.length + " rows, got "
                    + (all == null ? "null" : all.length));
        }
        int[][] out = new int[positions.length][];
        for (int b = 0; b < positions.length; b++) {
            if (all[b] == null || all[b].length != tokens[b].length) {
                throw new IllegalStateException("predict: row " + b + " expected " + tokens[b].length
                        + " predictions, got " + (all[b] == null ? "null" : all[b].length));
            }
            out[b] = new int[positions[b].length];
            for (int j = 0; j < positions[b].length; j++) {
                out[b][j] = all[b][positions[b][j]];
            }
        }
        return out;
    }
}
