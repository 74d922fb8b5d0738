package dev.based4j.state;

import java.io.IOException;

/** A saved state that is truncated, corrupted, of an unknown version or otherwise not loadable. */
public class CorruptStateException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message what is wrong and where */
    public CorruptStateException(String message) {
        super(message);
    }
}
