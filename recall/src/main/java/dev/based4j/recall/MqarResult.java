package dev.based4j.recall;

/**
 * MQAR accuracy of one model on one segment, as zoology scores it: per example the fraction of query positions
 * whose prediction equals the label, averaged over examples.
 *
 * @param config the segment's shape
 * @param examples examples scored
 * @param queries query positions scored (N per example)
 * @param correct of those, predicted right
 * @param accuracy mean over examples of the per-example accuracy, in {@code [0, 1]}
 * @param exampleStdDev standard deviation of the per-example accuracies (0 for one example)
 */
public record MqarResult(MqarConfig config, int examples, long queries, long correct, double accuracy,
        double exampleStdDev) {

    /** @return the standard error of {@link #accuracy()}, {@code exampleStdDev / √examples} */
    public double standardError() {
        return examples < 2 ? 0 : exampleStdDev / Math.sqrt(examples);
    }
}
