package dev.based4j.guice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.ProvisionException;
import com.google.inject.TypeLiteral;
import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import dev.based4j.spi.Memory;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.DType;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class BasedModuleTest {

    /** A provider whose engine has memory that refuses every use: its backend's name shows which one was injected. */
    record FakeProvider(String name, int priority, boolean usable) implements BackendProvider {
        @Override
        public Availability probe() {
            return usable
                    ? Availability.usable("fake device", Set.of(DType.F32))
                    : Availability.unusable("fake " + name + " has no device", "install a fake device");
        }

        @Override
        public Engine<?> create() {
            // memory is all an engine must have; nothing here allocates
            return Engine.builder(new Memory<Object>() {
                @Override
                public Allocation<Object> allocate(Shape shape, DType dtype) {
                    throw new UnsupportedOperationException("fake");
                }

                @Override
                public Allocation<Object> upload(HostTensor host) {
                    throw new UnsupportedOperationException("fake");
                }

                @Override
                public void download(Object source, HostTensor destination) {
                    throw new UnsupportedOperationException("fake");
                }
            }, Set.of(DType.F32)).device("fake device").build();
        }
    }

    private static final List<BackendProvider> PROVIDERS = List.of(
            new FakeProvider("alpha", 10, true), new FakeProvider("beta", 50, false), new FakeProvider("gamma", 5, true));

    @Nested
    class Selection {
        @Test
        void injectsTheBackendNamedExplicitly() {
            Injector injector = Guice.createInjector(BasedModule.withProviders("gamma", PROVIDERS));
            assertThat(injector.getInstance(Backend.class).name()).isEqualTo("gamma");
        }

        @Test
        void injectsTheUsableBackendOfHighestPriorityWhenNoneIsNamed() {
            Injector injector = Guice.createInjector(BasedModule.withProviders(null, PROVIDERS));
            assertThat(injector.getInstance(Backend.class).name())
                    .as("beta has the highest priority but is unusable, so alpha wins")
                    .isEqualTo("alpha");
        }

        @Test
        void failsWithTheReasonWhenTheNamedBackendCannotRun() {
            Injector injector = Guice.createInjector(BasedModule.withProviders("beta", PROVIDERS));
            assertThatThrownBy(() -> injector.getInstance(Backend.class))
                    .isInstanceOf(ProvisionException.class)
                    .hasMessageContaining("backend 'beta' cannot run here: fake beta has no device")
                    .hasMessageContaining("install a fake device");
        }

        @Test
        void failsListingTheKnownBackendsWhenTheNameIsUnknown() {
            Injector injector = Guice.createInjector(BasedModule.withProviders("delta", PROVIDERS));
            assertThatThrownBy(() -> injector.getInstance(Backend.class))
                    .hasMessageContaining("backend 'delta' not found")
                    .hasMessageContaining("alpha");
        }

        @Test
        void injectsOneBackendPerInjector() {
            Injector injector = Guice.createInjector(BasedModule.withProviders("alpha", PROVIDERS));
            assertThat(injector.getInstance(Backend.class)).isSameAs(injector.getInstance(Backend.class));
        }
    }

    @Test
    void bindsEveryProviderByName() {
        Injector injector = Guice.createInjector(BasedModule.withProviders(null, PROVIDERS));
        Map<String, BackendProvider> byName = injector.getInstance(Key.get(new TypeLiteral<Map<String, BackendProvider>>() {}));
        assertThat(byName).containsOnlyKeys("alpha", "beta", "gamma");
        assertThat(byName.get("beta").priority()).isEqualTo(50);
    }

    @Test
    void refusesABlankName() {
        assertThatThrownBy(() -> BasedModule.named(" "))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("name: expected a backend name");
    }
}
