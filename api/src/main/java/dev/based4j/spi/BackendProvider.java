package dev.based4j.spi;

import dev.based4j.Backend;
import dev.based4j.Availability;
/**
 * Entry point of a backend plugin, registered with {@code provides dev.based4j.spi.BackendProvider with ...}
 * and {@code META-INF/services/dev.based4j.spi.BackendProvider}. Construction must be cheap and must not load
 * native libraries; {@link #probe()} finds out whether this machine can run the backend.
 */
public interface BackendProvider {
    /** @return the name users select it by, lower case ({@code cpu}, {@code opencl}, ...) */
    String name();

    /** @return preference when nothing is named: the usable provider with the highest priority wins */
    int priority();

    /** @return a one-line description for {@code based4j info} */
    default String description() {
        return name();
    }

    /**
     * Checks whether this machine can run the backend. Never throws and never crashes the JVM: failures to load
     * native libraries become {@link Availability#unusable}.
     */
    Availability probe();

    /**
     * Creates a backend. Call only when {@link #probe()} says usable.
     *
     * @throws IllegalStateException with the probe's reason when it cannot run here
     */
    Backend create();
}
