package dev.based4j;

import dev.based4j.tensor.DType;
import java.util.Objects;
import java.util.Set;

/**
 * Whether a backend can run on this machine: data, not an exception. {@code based4j info} prints exactly these
 * strings.
 *
 * @param usable whether the backend can be created
 * @param device the device it would run on (when usable)
 * @param precisions the element types it computes in (when usable)
 * @param reason why it cannot run (when not usable)
 * @param fix what to install or set so that it can (when not usable)
 * @param misconfigured whether it cannot run because a setting is malformed or out of range (a user error: selection
 *     refuses to fall back to another backend then), rather than because something is missing
 */
public record Availability(boolean usable, String device, Set<DType> precisions, String reason, String fix,
        boolean misconfigured) {
    /** Validates that the fields fit {@code usable}. */
    public Availability {
        precisions = Set.copyOf(precisions);
        if (usable) {
            Objects.requireNonNull(device, "device");
            if (misconfigured) {
                throw new IllegalArgumentException("misconfigured: a usable backend cannot be misconfigured");
            }
        } else {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(fix, "fix");
        }
    }

    /** A usable backend on {@code device} computing in {@code precisions}. */
    public static Availability usable(String device, Set<DType> precisions) {
        return new Availability(true, device, precisions, "", "", false);
    }

    /** A backend that cannot run here because something is missing, with why and how to fix it. */
    public static Availability unusable(String reason, String fix) {
        return new Availability(false, "", Set.of(), reason, fix, false);
    }

    /**
     * A backend that cannot run because one of its settings is malformed, with the setting, the value and what is
     * expected in {@code reason}.
     */
    public static Availability misconfigured(String reason, String fix) {
        return new Availability(false, "", Set.of(), reason, fix, true);
    }
}
