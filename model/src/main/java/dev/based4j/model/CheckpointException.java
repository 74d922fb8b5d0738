package dev.based4j.model;

/**
 * A model directory that cannot be used: a {@code config.json} with an unknown or contradictory key, a weight file
 * whose header lies or is cut short, a missing tensor or one of the wrong shape. It is an
 * {@link IllegalArgumentException} (bad input), as {@link dev.based4j.layer.WeightSource} promises for a missing
 * tensor. The message names the file and the key or tensor, what was expected and what was found.
 */
public class CheckpointException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** @param message names the file and the key or tensor, the expected and the found value */
    public CheckpointException(String message) {
        super(message);
    }

    /**
     * @param message names the file and the key or tensor, the expected and the found value
     * @param cause the underlying parse or I/O failure
     */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
