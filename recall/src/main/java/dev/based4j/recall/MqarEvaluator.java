package dev.based4j.recall;

/**
 * Scores a {@link TokenModel} on MQAR data: the prediction at each labelled position (the repeated key) must be
 * the label (its value); other positions are ignored ({@code spec/based-math.md} f, "Loss and metric").
 */
public final class MqarEvaluator {
    /** Examples per call to the model unless told otherwise. */
    public static final int DEFAULT_BATCH = 32;

    private MqarEvaluator() {}

    /** {@link #evaluate(TokenModel, MqarDataset, int)} with batches of {@value #DEFAULT_BATCH}. */
    public static MqarResult evaluate(TokenModel model, MqarDataset data) {
        return evaluate(model, data, DEFAULT_BATCH);
    }

    /**
     * Runs {@code model} over {@code data} in batches and scores it.
     *
     * @param batchSize examples per call to the model, at least 1
     * @throws IllegalArgumentException for a null model or data, or {@code batchSize < 1}
     * @throws IllegalStateException when the model answers with the wrong number of predictions
     */
    public static MqarResult evaluate(TokenModel model, MqarDataset data, int batchSize) {
        if (model == null) {
            throw new IllegalArgumentException("model: expected a TokenModel, got null");
        }
        if (data == null) {
            throw new IllegalArgumentException("data: expected an MqarDataset, got null");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize: expected >= 1, got " + batchSize);
        }
        int examples = data.size();
        double[] perExample = new double[examples];
        long queries = 0;
        long correct = 0;
        for (int from = 0; from < examples; from += batchSize) {
            int to = Math.min(examples, from + batchSize);
            int[][] tokens = data.inputs(from, to);
            int[][] labels = data.labels(from, to);
            int[][] positions = new int[to - from][];
            for (int b = 0; b < positions.length; b++) {
                positions[b] = labelledPositions(labels[b]);
            }
            int[][] predicted = model.predictAt(tokens, positions);
            if (predicted == null || predicted.length != positions.length) {
                throw new IllegalStateException("model.predictAt: expected " + positions.length + " rows, got "
                        + (predicted == null ? "null" : predicted.length));
            }
            for (int b = 0; b < positions.length; b++) {
                if (predicted[b] == null || predicted[b].length != positions[b].length) {
                    throw new IllegalStateException("model.predictAt: row " + b + " expected " + positions[b].length
                            + " predictions, got " + (predicted[b] == null ? "null" : predicted[b].length));
                }
                int hits = 0;
                for (int j = 0; j < positions[b].length; j++) {
                    if (predicted[b][j] == labels[b][positions[b][j]]) {
                        hits++;
                    }
                }
                queries += positions[b].length;
                correct += hits;
                perExample[from + b] = positions[b].length == 0 ? 0 : (double) hits / positions[b].length;
            }
        }
        double mean = 0;
        for (double a : perExample) {
            mean += a;
        }
        mean /= examples;
        double var = 0;
        for (double a : perExample) {
            var += (a - mean) * (a - mean);
        }
        double sd = examples < 2 ? 0 : Math.sqrt(var / (examples - 1));
        return new MqarResult(data.config(), examples, queries, correct, mean, sd);
    }

    /** @return the positions whose label is not {@link MqarDataset#IGNORE}, ascending */
    public static int[] labelledPositions(int[] labels) {
        int count = 0;
        for (int y : labels) {
            if (y != MqarDataset.IGNORE) {
                count++;
            }
        }
        int[] out = new int[count];
        int j = 0;
        for (int t = 0; t < labels.length; t++) {
            if (labels[t] != MqarDataset.IGNORE) {
                out[j++] = t;
            }
        }
        return out;
    }
}
