package dev.based4j.state;

/**
 * A saved state written in a format version this build does not read: an older version no longer supported or a
 * newer one. The message names the version found and the versions this build reads.
 */
public final class UnsupportedStateVersionException extends CorruptStateException {
    private static final long serialVersionUID = 1L;

    private final int version;

    /**
     * @param version the version found in the file
     * @param message what was found and what this build reads
     */
    public UnsupportedStateVersionException(int version, String message) {
        super(message);
        this.version = version;
    }

    /** @return the format version found in the file */
    public int version() {
        return version;
    }
}
