package dev.based4j.guice;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import com.google.inject.multibindings.MapBinder;
import dev.based4j.Backends;
import dev.based4j.Backend;
import dev.based4j.spi.BackendProvider;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Binds {@link Backend} (a singleton, selected by the same rules as {@link Backends}: an explicit name, else
 * {@code based4j.backend} / {@code BASED4J_BACKEND}, else the usable provider of highest priority; a named
 * backend that cannot run fails injection with its reason) and a {@code Map<String, BackendProvider>} of every
 * provider, keyed by name. The backend is created at first injection; the application closes it.
 *
 * <pre>{@code
 * Injector injector = Guice.createInjector(new BasedModule());          // configuration decides
 * Injector injector = Guice.createInjector(BasedModule.named("cpu"));    // explicit name
 * Backend backend = injector.getInstance(Backend.class);
 * }</pre>
 */
public final class BasedModule extends AbstractModule {
    private final String backendName;
    private final List<BackendProvider> providers;

    /** Selects by configuration among the providers {@link java.util.ServiceLoader} finds. */
    public BasedModule() {
        this(null, Backends.providers());
    }

    private BasedModule(String backendName, List<BackendProvider> providers) {
        this.backendName = backendName;
        this.providers = List.copyOf(providers);
    }

    /**
     * Always selects the backend named {@code name}.
     *
     * @throws IllegalArgumentException when {@code name} is null or blank
     */
    public static BasedModule named(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name: expected a backend name, got " + (name == null ? "null" : "''"));
        }
        return new BasedModule(name.strip(), Backends.providers());
    }

    /**
     * Selects among {@code providers} instead of those {@link java.util.ServiceLoader} finds.
     *
     * @param name the backend to use, or {@code null} to let configuration and priority decide
     */
    public static BasedModule withProviders(String name, List<BackendProvider> providers) {
        if (providers == null) {
            throw new IllegalArgumentException("providers: expected a list, got null");
        }
        providers.forEach(p -> Objects.requireNonNull(p, "providers: null element"));
        return new BasedModule(name, providers);
    }

    @Override
    protected void configure() {
        MapBinder<String, BackendProvider> byName = MapBinder.newMapBinder(binder(), String.class, BackendProvider.class);
        for (BackendProvider p : providers) {
            byName.addBinding(p.name()).toInstance(p);
        }
    }

    @Provides
    @Singleton
    Backend backend(Map<String, BackendProvider> byName) {
        return Backends.select(List.copyOf(byName.values()), backendName);
    }
}
