package dev.based4j;

import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Backend selection at run time. Rules: an explicit name, else {@link Settings#BACKEND} (system property
 * {@code based4j.backend}, then environment variable {@code BASED4J_BACKEND}), else the usable provider with the
 * highest priority. A backend that was named but cannot run is an error with its reason and fix, never a silent
 * fall-back to another one; so is a backend whose settings are malformed when it would be the default choice.
 *
 * <p>Providers come from {@link ServiceLoader} on the class or module path and from the plugins
 * {@link Plugins#load} loaded.
 */
public final class Backends {
    private Backends() {}

    /** One provider and whether it can run here. */
    public record ProviderStatus(BackendProvider provider, Availability availability) {
        /** @return the provider's name */
        public String name() {
            return provider.name();
        }

        /** @return where the provider was loaded from (its module and jar, or its class-path entry) */
        public String origin() {
            return Backends.origin(provider);
        }
    }

    /** @return every provider on the class or module path and in loaded plugins, by descending priority */
    public static List<BackendProvider> providers() {
        List<BackendProvider> out = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader()).forEach(out::add);
        if (out.isEmpty()) {
            ServiceLoader.load(BackendProvider.class).forEach(out::add);
        }
        out.addAll(Plugins.providers());
        // the same provider may be visible through several loaders: keep the first of each name
        List<BackendProvider> unique = new ArrayList<>();
        for (BackendProvider p : out) {
            if (unique.stream().noneMatch(u -> u.name().equalsIgnoreCase(p.name()))) {
                unique.add(p);
            }
        }
        unique.sort(byPriority());
        return unique;
    }

    private static Comparator<BackendProvider> byPriority() {
        return Comparator.comparingInt(BackendProvider::priority).reversed().thenComparing(BackendProvider::name);
    }

    /** @return every provider with its probe result, usable or not, by descending priority */
    public static List<ProviderStatus> list() {
        return providers().stream().map(p -> new ProviderStatus(p, safeProbe(p))).toList();
    }

    /** @return the provider named {@code name} (case-insensitive) */
    public static Optional<BackendProvider> provider(String name) {
        if (name == null) {
            return Optional.empty();
        }
        String n = name.strip().toLowerCase(Locale.ROOT);
        return providers().stream().filter(p -> p.name().equalsIgnoreCase(n)).findFirst();
    }

    /**
     * Selects by configuration: {@link Settings#BACKEND} if set, else the highest-priority usable provider. Providers
     * are probed in priority order until one is usable or misconfigured; those below it are not probed (use
     * {@link #list()} to probe every one).
     *
     * @throws BackendUnavailableException when the configured backend is unknown or unusable, when none is usable,
     *     or when the backend that would be chosen has a malformed setting
     */
    public static Backend select() {
        return select(providers(), null);
    }

    /**
     * Selects the backend named {@code name}.
     *
     * @throws IllegalArgumentException when {@code name} is null or blank
     * @throws BackendUnavailableException naming the backend when it is unknown (listing the known ones) or
     *     cannot run here (with the probe's reason and fix)
     */
    public static Backend select(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name: expected a backend name, got " + (name == null ? "null" : "''"));
        }
        return select(providers(), name);
    }

    /**
     * Applies the selection rules to {@code candidates} instead of the providers {@link ServiceLoader} finds
     * (for dependency-injection containers and tests): {@code name} if not null, else {@link Settings#BACKEND},
     * else the usable candidate of highest priority. Only the named candidate is probed when one is named; otherwise
     * candidates are probed in priority order and probing stops at the first usable or misconfigured one.
     *
     * @throws BackendUnavailableException as {@link #select(String)} and {@link #select()}
     */
    public static Backend select(List<BackendProvider> candidates, String name) {
        if (candidates == null) {
            throw new IllegalArgumentException("candidates: expected a list of providers, got null");
        }
        String wanted = name != null ? name : Settings.BACKEND.configured().orElse(null);
        if (wanted != null) {
            String n = wanted.strip();
            BackendProvider p = candidates.stream().filter(c -> c.name().equalsIgnoreCase(n)).findFirst()
                    .orElseThrow(() -> new BackendUnavailableException("backend '" + n + "' not found; known backends: "
                            + (candidates.isEmpty() ? "none" : candidates.stream().map(BackendProvider::name)
                                    .collect(Collectors.joining(", ")))
                            + (name == null ? " (named by " + Settings.BACKEND.names() + ")" : "")));
            Availability a = safeProbe(p);
            if (!a.usable()) {
                throw new BackendUnavailableException(
                        "backend '" + p.name() + "' cannot run here: " + a.reason() + "; fix: " + a.fix());
            }
            return open(p);
        }
        // probed one by one, best first: the providers below the one chosen are never probed, so their native
        // libraries (an OpenCL driver, ONNX Runtime) are not loaded into a process that will not use them
        List<ProviderStatus> all = new ArrayList<>();
        for (BackendProvider p : candidates.stream().sorted(byPriority()).toList()) {
            ProviderStatus s = new ProviderStatus(p, safeProbe(p));
            all.add(s);
            if (s.availability().usable()) {
                return open(s.provider());
            }
            if (s.availability().misconfigured()) {
                throw new BackendUnavailableException("backend '" + s.name() + "' would be chosen but is misconfigured: "
                        + s.availability().reason() + "; fix: " + s.availability().fix()
                        + " (based4j never falls back to another backend silently)");
            }
        }
        throw new BackendUnavailableException("no usable based4j backend found; providers: "
                + (all.isEmpty() ? "none (add based4j-backend-cpu to the class or module path)" : describe(all)));
    }

    /**
     * Creates the backend of {@code provider} without probing it first (the probe's verdict is the caller's).
     *
     * @throws BackendUnavailableException naming the backend when it fails to start
     */
    public static Backend open(BackendProvider provider) {
        if (provider == null) {
            throw new IllegalArgumentException("provider: expected a backend provider, got null");
        }
        Engine<?> engine;
        try {
            engine = provider.create();
        } catch (RuntimeException | LinkageError e) {
            throw new BackendUnavailableException("backend '" + provider.name() + "' failed to start: " + e, e);
        }
        if (engine == null) {
            throw new BackendUnavailableException("backend '" + provider.name() + "' failed to start: its provider "
                    + provider.getClass().getName() + " returned no engine");
        }
        return engine.open(provider.name());
    }

    /** @return where {@code provider} was loaded from: its module (if named) and its jar or folder */
    public static String origin(BackendProvider provider) {
        Module m = provider.getClass().getModule();
        String module = m.isNamed() ? "module " + m.getName() : "class path";
        CodeSource source = provider.getClass().getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            return module;
        }
        try {
            return module + ", " + Path.of(source.getLocation().toURI());
        } catch (URISyntaxException | IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            return module + ", " + source.getLocation();
        }
    }

    private static Availability safeProbe(BackendProvider p) {
        try {
            Availability a = p.probe();
            return a != null ? a
                    : Availability.unusable("probe returned nothing", "report this as a bug of backend " + p.name());
        } catch (RuntimeException | LinkageError e) {
            return Availability.unusable("probe failed: " + e, "report this as a bug of backend " + p.name());
        }
    }

    private static String describe(List<ProviderStatus> all) {
        return all.stream().map(s -> s.name() + " (" + s.availability().reason() + ")").collect(Collectors.joining(", "));
    }
}
