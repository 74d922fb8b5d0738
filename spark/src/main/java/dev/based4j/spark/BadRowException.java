package dev.based4j.spark;

/**
 * A row that cannot be computed (its prompt or seed is unusable, or the model's output for it is not finite), thrown
 * in strict mode ({@link BasedGeneration#withStrict(boolean)}, {@link BasedScoring#withStrict(boolean)}) so that the
 * job fails instead of writing the problem to the error column. Spark reports it as the cause of the failed task.
 */
public final class BadRowException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * @param where the row, e.g. {@code partition 3, row 17} (its index within the partition)
     * @param problem what is wrong, e.g. {@code prompt: id 103 at position 2 is outside the vocabulary [0, 100)}
     */
    public BadRowException(String where, String problem) {
        super(where + ": " + problem);
    }
}
