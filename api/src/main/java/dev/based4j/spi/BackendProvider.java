package dev.based4j.spi;

import dev.based4j.Availability;
import dev.based4j.Setting;
import java.util.List;

/**
 * Entry point of a backend plugin, registered with {@code provides dev.based4j.spi.BackendProvider with ...} in its
 * {@code module-info.java} and in {@code META-INF/services/dev.based4j.spi.BackendProvider}, so it is found on the
 * module path and the class path alike. Construction must be cheap and must not load native libraries;
 * {@link #probe()} finds out whether this machine can run the backend, and {@link #create()} builds it.
 */
public interface BackendProvider {
    /** @return the name users select it by, lower case ({@code cpu}, {@code opencl}, ...) */
    String name();

    /**
     * @return preference when nothing is named: the usable provider with the highest priority wins. The default, 0,
     *     makes a backend that runs only when named (the CPU backend has 100, CUDA 300)
     */
    default int priority() {
        return 0;
    }

    /** @return a one-line description for {@code based4j info} */
    default String description() {
        return name();
    }

    /** @return the settings this backend reads, listed by {@code based4j info} under its name */
    default List<Setting> settings() {
        return List.of();
    }

    /**
     * @return every device the backend could run on, one line each, for {@code based4j info} (empty when it has
     *     nothing to list); like {@link #probe()}, never throws
     */
    default List<String> devices() {
        return List.of();
    }

    /**
     * Checks whether this machine can run the backend. Never throws and never crashes the JVM: failures to load
     * native libraries become {@link Availability#unusable}; a setting that is malformed is
     * {@link Availability#misconfigured}.
     */
    Availability probe();

    /**
     * Creates the backend's engine: its memory and the kernel families it supplies. based4j calls it only when
     * {@link #probe()} says usable, and wraps the engine into the {@code Backend} users hold.
     *
     * @throws IllegalStateException with the probe's reason when it cannot run here
     */
    Engine<?> create();
}
