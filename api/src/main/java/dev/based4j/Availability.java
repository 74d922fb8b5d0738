package dev.based4j;

import dev.based4j.tensor.DType;
import java.util.Objects;
import java.util.Set;

/**
 * Whether a backend can run on this machine: data, not an exception. {@code based4j info} prints exactly these
 * strings.
 *
 * @param usable whether {@link BackendProvider#create()} will succeed
 * @param device the device it would run on (when usable)
 * @param precisions the element types it computes in (when usable)
 * @param reason why it cannot run (when not usable)
 * @param fix what to install or set so that it can (when not usable)
 */
public record Availability(boolean usable, String device, Set<DType> precisions, String reason, String fix) {
    /** Validates that the fields fit {@code usable}. */
    public Availability {
        precisions = Set.copyOf(precisions);
        if (usable) {
            Objects.requireNonNull(device, "device");
        } else {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(fix, "fix");
        }
    }

    /** A usable backend on {@code device} computing in {@code precisions}. */
    public static Availability usable(String device, Set<DType> precisions) {
        return new Availability(true, device, precisions, "", "");
    }

    /** A backend that cannot run here, with why and how to fix it. */
    public static Availability unusable(String reason, String fix) {
        return new Availability(false, "", Set.of(), reason, fix);
    }
}
