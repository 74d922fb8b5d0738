package dev.based4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.spi.Allocation;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import dev.based4j.spi.Memory;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The selection rule when nothing is named: best usable provider, probing no provider below it. */
class BackendsSelectionTest {
    /** A provider whose probe says {@code availability} and counts how often it was asked. */
    private static final class CountingProvider implements BackendProvider {
        final String name;
        final int priority;
        final Availability availability;
        final AtomicInteger probes = new AtomicInteger();

        CountingProvider(String name, int priority, Availability availability) {
            this.name = name;
            this.priority = priority;
            this.availability = availability;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int priority() {
            return priority;
        }

        @Override
        public Availability probe() {
            probes.incrementAndGet();
            return availability;
        }

        @Override
        public Engine<?> create() {
            return Engine.builder(new NoMemory(), Set.of(DType.F64)).device(name + " device").build();
        }
    }

    /** Memory that is never used: selection only opens the backend. */
    private static final class NoMemory implements Memory<Object> {
        @Override
        public Allocation<Object> allocate(Shape shape, DType dtype) {
            throw new UnsupportedOperationException("not used by selection");
        }

        @Override
        public Allocation<Object> upload(HostTensor host) {
            throw new UnsupportedOperationException("not used by selection");
        }

        @Override
        public void download(Object source, HostTensor destination) {
            throw new UnsupportedOperationException("not used by selection");
        }
    }

    private static Availability usable() {
        return Availability.usable("somewhere", Set.of(DType.F64));
    }

    @BeforeEach
    void nothingConfigured() {
        assumeTrue(Settings.BACKEND.configured().isEmpty(), "based4j.backend is set in this environment");
    }

    @Nested
    class WhenNothingIsNamed {
        @Test
        void theBestUsableProviderIsChosenAndNoProviderBelowItIsProbed() {
            var gpu = new CountingProvider("gpu", 300, Availability.unusable("no GPU", "install one"));
            var cpu = new CountingProvider("cpu", 100, usable());
            var driver = new CountingProvider("driver", 50, usable());
            try (Backend b = Backends.select(List.of(driver, cpu, gpu), null)) {
                assertThat(b.name()).isEqualTo("cpu");
            }
            assertThat(gpu.probes).as("probes of the provider above").hasValue(1);
            assertThat(cpu.probes).as("probes of the chosen provider").hasValue(1);
            assertThat(driver.probes).as("probes of the provider below the chosen one").hasValue(0);
        }

        @Test
        void aMisconfiguredProviderThatWouldBeChosenStopsSelectionWithoutProbingFurther() {
            var broken = new CountingProvider("broken", 300,
                    Availability.misconfigured("broken.threads: expected 1..8, got 'x'", "set broken.threads"));
            var cpu = new CountingProvider("cpu", 100, usable());
            assertThatThrownBy(() -> Backends.select(List.of(cpu, broken), null))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("'broken' would be chosen but is misconfigured")
                    .hasMessageContaining("expected 1..8, got 'x'");
            assertThat(cpu.probes).as("probes of the provider below the misconfigured one").hasValue(0);
        }

        @Test
        void whenNoneIsUsableEveryProviderWasProbedAndIsListedWithItsReason() {
            var a = new CountingProvider("a", 20, Availability.unusable("no a here", "install a"));
            var b = new CountingProvider("b", 10, Availability.unusable("no b here", "install b"));
            assertThatThrownBy(() -> Backends.select(List.of(a, b), null))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("a (no a here)")
                    .hasMessageContaining("b (no b here)");
            assertThat(a.probes.get() + b.probes.get()).as("probes").isEqualTo(2);
        }
    }

    @Test
    void aNamedProviderIsTheOnlyOneProbed() {
        var gpu = new CountingProvider("gpu", 300, usable());
        var cpu = new CountingProvider("cpu", 100, usable());
        try (Backend b = Backends.select(List.of(gpu, cpu), "CPU")) {
            assertThat(b.name()).isEqualTo("cpu");
        }
        assertThat(gpu.probes).as("probes of the provider not named").hasValue(0);
    }
}
