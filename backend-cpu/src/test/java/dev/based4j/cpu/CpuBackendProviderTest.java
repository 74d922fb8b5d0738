package dev.based4j.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backends;
import dev.based4j.spi.Availability;
import dev.based4j.spi.Backend;
import dev.based4j.spi.Capabilities;
import dev.based4j.spi.Operation;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.tensor.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

class CpuBackendProviderTest {
    @Test
    void isNamedCpuWithPriority100() {
        CpuBackendProvider provider = new CpuBackendProvider();
        assertThat(provider.name()).isEqualTo("cpu");
        assertThat(provider.priority()).isEqualTo(100);
    }

    @Test
    void probeIsUsableWithThreadsJavaVersionAndBothPrecisions() {
        Availability a = new CpuBackendProvider().probe();
        assertThat(a.usable()).isTrue();
        assertThat(a.device()).matches("CPU \\(\\d+ threads?, Java " + Runtime.version().feature() + ".*\\)");
        assertThat(a.precisions()).containsExactlyInAnyOrder(DType.F32, DType.F64);
    }

    @Test
    void serviceLoaderFindsItAndBackendsSelectsItByName() {
        assertThat(Backends.providers()).anyMatch(p -> p instanceof CpuBackendProvider);
        try (Backend backend = Backends.select("cpu")) {
            assertThat(backend).isInstanceOf(CpuBackend.class);
            assertThat(backend.name()).isEqualTo("cpu");
            assertThat(((CpuBackend) backend).threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        }
    }

    @Test
    void capabilitiesCoverEveryOperationAndFeatureMapInBothPrecisions() {
        try (Backend backend = new CpuBackendProvider().create()) {
            Capabilities caps = backend.capabilities();
            assertThat(caps.operations()).isEqualTo(EnumSet.allOf(Operation.class));
            assertThat(caps.featureMaps()).isEqualTo(EnumSet.allOf(FeatureMap.Kind.class));
            assertThat(caps.precisions()).containsExactlyInAnyOrder(DType.F32, DType.F64);
            assertThat(caps.reducedPrecision()).isFalse();
            assertThat(caps.runsModels()).isTrue();
        }
    }

    @Test
    void theClassPathRegistrationNamesTheProvider() throws IOException {
        try (InputStream in = CpuBackendProvider.class.getClassLoader()
                .getResourceAsStream("META-INF/services/dev.based4j.spi.BackendProvider")) {
            assertThat(in).isNotNull();
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8).strip())
                    .isEqualTo(CpuBackendProvider.class.getName());
        }
    }
}
