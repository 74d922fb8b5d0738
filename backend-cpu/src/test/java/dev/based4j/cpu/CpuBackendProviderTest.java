package dev.based4j.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backends;
import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.Capabilities;
import dev.based4j.Operation;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.tensor.DType;
import java.io.IOException;
import java.io.InputStream;
import dev.based4j.spi.BackendProvider;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.ServiceLoader;
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
    void aMalformedThreadSettingMakesItMisconfiguredWithTheFix() {
        String before = System.getProperty("based4j.cpu.threads");
        System.setProperty("based4j.cpu.threads", "many");
        try {
            Availability a = new CpuBackendProvider().probe();
            assertThat(a.usable()).isFalse();
            assertThat(a.misconfigured()).as("a malformed setting is the user's error, not a missing library").isTrue();
            assertThat(a.reason()).contains("based4j.cpu.threads").contains("many");
            assertThat(a.fix()).contains("based4j.cpu.threads");
            assertThatThrownBy(() -> new CpuBackendProvider().create()).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("many");
        } finally {
            if (before == null) {
                System.clearProperty("based4j.cpu.threads");
            } else {
                System.setProperty("based4j.cpu.threads", before);
            }
        }
    }

    @Test
    void serviceLoaderFindsItAndBackendsSelectsItByName() {
        assertThat(Backends.providers()).anyMatch(p -> p instanceof CpuBackendProvider);
        try (Backend backend = Backends.select("cpu")) {
            assertThat(backend.name()).isEqualTo("cpu");
            CpuEngine.CpuInfo info = backend.unwrap(CpuEngine.CpuInfo.class).orElseThrow();
            assertThat(info.threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
            assertThat(info.f32Kernels()).isNotBlank();
        }
    }

    @Test
    void capabilitiesCoverEveryOperationAndFeatureMapInBothPrecisions() {
        try (Backend backend = Backends.open(new CpuBackendProvider())) {
            Capabilities caps = backend.capabilities();
            assertThat(caps.operations()).isEqualTo(EnumSet.allOf(Operation.class));
            for (Operation op : EnumSet.of(Operation.FEATURE_MAP, Operation.LINEAR_ATTENTION,
                    Operation.BASED_ATTENTION)) {
                assertThat(caps.featureMapsOf(op)).as(op.name()).isEqualTo(EnumSet.allOf(FeatureMap.Kind.class));
            }
            assertThat(caps.precisions()).containsExactlyInAnyOrder(DType.F32, DType.F64);
            assertThat(caps.weightTypes()).as("weights in the compute types").contains(DType.F32, DType.F64);
            assertThat(caps.runsModels()).isTrue();
        }
    }

    @Test
    void outOfRangeThreadCountsAreMisconfiguredNotClipped() {
        String before = System.getProperty("based4j.cpu.threads");
        try {
            for (String value : new String[] {"-1", String.valueOf(CpuSettings.maxThreads() + 1), "100000"}) {
                System.setProperty("based4j.cpu.threads", value);
                Availability a = new CpuBackendProvider().probe();
                assertThat(a.misconfigured()).as("threads %s", value).isTrue();
                assertThat(a.reason()).contains(value).contains("0.." + CpuSettings.maxThreads());
            }
        } finally {
            if (before == null) {
                System.clearProperty("based4j.cpu.threads");
            } else {
                System.setProperty("based4j.cpu.threads", before);
            }
        }
    }

    @Test
    void listsItsOwnSettings() {
        assertThat(new CpuBackendProvider().settings()).extracting(dev.based4j.Setting::property)
                .containsExactly("based4j.cpu.threads", "based4j.cpu.noVector");
    }

    @Test
    void serviceLoaderFindsItOnAPlainClassPathToo() throws Exception {
        // the test itself runs on the module path; a fresh loader over the same class folders is a class path
        URL[] classPath = {CpuBackendProvider.class.getProtectionDomain().getCodeSource().getLocation(),
                BackendProvider.class.getProtectionDomain().getCodeSource().getLocation()};
        // parent: the bootstrap loader, which (unlike the platform loader) does not hand back the named modules
        try (URLClassLoader loader = new URLClassLoader(classPath, null)) {
            Class<?> spi = loader.loadClass(BackendProvider.class.getName());
            assertThat(spi.getModule().isNamed()).as("loaded as a class-path class").isFalse();
            // this test runs inside a named module, which may only look up services it declares it uses
            getClass().getModule().addUses(spi);
            List<Object> found = ServiceLoader.load(spi, loader).stream().map(ServiceLoader.Provider::get)
                    .map(Object.class::cast).toList();
            assertThat(found).singleElement().satisfies(p -> {
                assertThat(p.getClass().getName()).isEqualTo(CpuBackendProvider.class.getName());
                assertThat(p.getClass().getMethod("name").invoke(p)).isEqualTo("cpu");
            });
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
