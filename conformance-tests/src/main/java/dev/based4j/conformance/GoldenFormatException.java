package dev.based4j.conformance;

/**
 * A golden folder or case that cannot be read: a missing folder, index or file, a file of the wrong size, an
 * unknown op, a configuration the SDK cannot express. The message names the case and the file.
 */
public class GoldenFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong, naming the case and the file */
    public GoldenFormatException(String message) {
        super(message);
    }

    /** @param message what is wrong, naming the case and the file */
    public GoldenFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
