package dev.based4j.spi;

/**
 * An optional part of an engine: copies memory on the device without a round trip through the host. based4j uses it
 * to back up a state before a kernel that may fail part-way; without it, the backup goes through
 * {@link Memory#download} and {@link Memory#upload}.
 *
 * @param <B> the backend's type of memory handle
 */
@FunctionalInterface
public interface DeviceCopy<B> {
    /**
     * Copies the first {@code bytes} bytes of {@code source} into {@code destination}; both were allocated with the
     * same shape and type.
     */
    void copy(B source, B destination, long bytes);
}
