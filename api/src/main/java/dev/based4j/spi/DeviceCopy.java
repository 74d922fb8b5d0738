package dev.based4j.spi;

/**
 * An optional part of an engine: copies bytes between tensors' memory on the device, without a round trip through
 * the host. based4j uses it to back up a state before a kernel that may fail part-way (without it, the backup goes
 * through {@link Memory#download} and {@link Memory#upload}), and for {@link dev.based4j.Backend#copyRows}, which
 * batched decode steps use to gather and scatter the rows of independent sequences (without it, that operation is
 * unsupported and batched steps run each sequence on its own).
 *
 * @param <B> the backend's type of memory handle
 */
@FunctionalInterface
public interface DeviceCopy<B> {
    /**
     * Copies {@code bytes} bytes from {@code source} at byte offset {@code sourceOffset} to {@code destination} at
     * {@code destinationOffset}. based4j has checked that both ranges lie inside their tensors; the two may be the
     * same tensor only when the ranges do not overlap.
     */
    void copy(B source, long sourceOffset, B destination, long destinationOffset, long bytes);
}
