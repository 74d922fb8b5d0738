package dev.based4j;

/**
 * A backend's count of the native memory its tensors hold, from {@link Backend#allocations()}. States are made of
 * tensors, so they are counted too. Every backend made from a {@link dev.based4j.spi.Engine} keeps this count for every
 * allocation of its {@link dev.based4j.spi.Memory}; other implementations of {@link Backend} report
 * {@link #untracked()}.
 *
 * @param tracked whether the backend counts at all; the other fields are 0 when it does not
 * @param liveHandles tensors allocated and not yet freed
 * @param liveBytes bytes those tensors hold (as declared by the backend when it allocated them)
 * @param allocatedHandles tensors allocated since the backend was created
 * @param leakedHandles tensors that became unreachable without {@code close()} and were freed by the cleaner
 */
public record Allocations(boolean tracked, long liveHandles, long liveBytes, long allocatedHandles,
        long leakedHandles) {

    private static final Allocations UNTRACKED = new Allocations(false, 0, 0, 0, 0);

    /** @return the report of a backend that does not count its allocations */
    public static Allocations untracked() {
        return UNTRACKED;
    }

    /** @return a readable one-line summary */
    @Override
    public String toString() {
        return tracked
                ? liveHandles + " live tensors (" + liveBytes + " bytes), " + allocatedHandles + " allocated, "
                        + leakedHandles + " collected without close()"
                : "not tracked";
    }
}
