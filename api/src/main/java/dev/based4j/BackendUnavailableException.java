package dev.based4j;

/** A backend the user named is unknown or cannot run here; the message says why and how to fix it. */
public class BackendUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what was asked for, why it cannot run, and the fix */
    public BackendUnavailableException(String message) {
        super(message);
    }

    /** @param message what was asked for and why it failed */
    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
