package dev.based4j.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.Availability;
import dev.based4j.BackendUnavailableException;
import dev.based4j.Backends;
import dev.based4j.Setting;
import dev.based4j.Settings;
import dev.based4j.cuda.driver.CudaDriver;
import dev.based4j.cuda.driver.NativeLibraryException;
import dev.based4j.cuda.driver.Nvrtc;
import dev.based4j.spi.BackendProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CudaProbeTest {
    /** A probe that refuses a setting must do so at once, never near the native probe's deadline. */
    private static final Duration QUICKLY = Duration.ofSeconds(10);

    private final Map<String, String> saved = new HashMap<>();

    /** Sets the system property of {@code setting} for this test; restored after it. */
    private void set(Setting setting, String value) {
        saved.putIfAbsent(setting.property(), System.getProperty(setting.property()));
        System.setProperty(setting.property(), value);
    }

    @AfterEach
    void restore() {
        saved.forEach((property, value) -> {
            if (value == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, value);
            }
        });
    }

    private static Availability probe() {
        return assertTimeoutPreemptively(QUICKLY, () -> new CudaBackendProvider().probe(),
                "the probe must answer without waiting for the native deadline");
    }

    /** @return a FIFO in {@code dir}: opening it for reading blocks until a writer comes, which never does */
    private static Path fifo(Path dir) throws IOException, InterruptedException {
        Path fifo = dir.resolve("libcuda.so.1");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        assumeTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "mkfifo is not available here");
        return fifo;
    }

    @Test
    void isFoundByServiceLoaderUnderItsName() {
        assertThat(Backends.provider("cuda")).get().isInstanceOf(CudaBackendProvider.class);
    }

    @Test
    void listsItsFourSettingsUnderTheirNamesOfBefore() {
        assertThat(new CudaBackendProvider().settings()).extracting(Setting::property, Setting::environment)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("based4j.cuda.device", "BASED4J_CUDA_DEVICE"),
                        org.assertj.core.groups.Tuple.tuple("based4j.cuda.driverLibrary", "BASED4J_CUDA_DRIVER_LIBRARY"),
                        org.assertj.core.groups.Tuple.tuple("based4j.cuda.nvrtcLibrary", "BASED4J_CUDA_NVRTC_LIBRARY"),
                        org.assertj.core.groups.Tuple.tuple("based4j.cuda.kernels", "BASED4J_CUDA_KERNELS"));
    }

    @Test
    void reportsAMissingDriverLibraryAsUnusableWithReasonAndFix() {
        set(CudaSettings.DRIVER_LIBRARY, "/nonexistent/based4j-test/libcuda.so.1");
        Availability a = probe();
        assertThat(a.usable()).as("usable with a driver library that does not exist").isFalse();
        assertThat(a.misconfigured()).as("a missing library is missing, not malformed").isFalse();
        assertThat(a.reason()).contains("no CUDA driver library").contains("/nonexistent/based4j-test/libcuda.so.1");
        assertThat(a.fix()).contains("NVIDIA driver").contains("based4j.backend=cpu");
    }

    @Test
    void reportsALibraryThatIsNotTheDriverAsUnusable() {
        // libc loads fine but has no CUDA functions: the binding must refuse it without calling anything
        set(CudaSettings.DRIVER_LIBRARY, "libc.so.6");
        Availability a = probe();
        assertThat(a.usable()).isFalse();
        assertThat(a.reason()).contains("libc.so.6").contains("cuInit");
    }

    @Test
    void createRefusesWithTheProbesReasonWhenUnusable() {
        set(CudaSettings.DRIVER_LIBRARY, "/nonexistent/based4j-test/libcuda.so.1");
        BackendProvider p = new CudaBackendProvider();
        assertThatThrownBy(p::create).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot run here").hasMessageContaining("no CUDA driver library");
    }

    @Test
    void probeOnThisMachineNeverThrowsAndExplainsItself() {
        Availability a = new CudaBackendProvider().probe();
        if (a.usable()) {
            assertThat(a.device()).as("device description").isNotBlank();
        } else {
            assertThat(a.reason()).as("reason").isNotBlank();
            assertThat(a.fix()).as("fix").isNotBlank();
        }
    }

    @Nested
    class AMalformedSettingIsMisconfiguredNamingTheSettingAndTheValue {
        @Test
        void anUnknownKernelSource() {
            set(CudaSettings.KERNELS, "fastest");
            Availability a = probe();
            assertThat(a.usable()).isFalse();
            assertThat(a.misconfigured()).isTrue();
            assertThat(a.reason()).contains("based4j.cuda.kernels").contains("BASED4J_CUDA_KERNELS").contains("fastest");
            assertThat(a.fix()).contains("auto, ptx or nvrtc");
        }

        @Test
        void aDeviceOrdinalThatIsNotANumber() {
            set(CudaSettings.DEVICE, "gpu0");
            Availability a = probe();
            assertThat(a.misconfigured()).isTrue();
            assertThat(a.reason()).contains("based4j.cuda.device").contains("BASED4J_CUDA_DEVICE").contains("'gpu0'")
                    .contains("0.." + CudaSettings.MAX_DEVICE_ORDINAL);
            assertThat(a.fix()).contains("based4j.cuda.device");
        }

        @Test
        void aNegativeDeviceOrdinal() {
            set(CudaSettings.DEVICE, "-1");
            Availability a = probe();
            assertThat(a.misconfigured()).isTrue();
            assertThat(a.reason()).contains("based4j.cuda.device").contains("-1");
        }

        @Test
        void aDeviceOrdinalBeyondTheDriversDevices() {
            Availability here = new CudaBackendProvider().probe();
            assumeTrue(here.usable(), () -> "CUDA backend not usable here: " + here.reason());
            set(CudaSettings.DEVICE, String.valueOf(CudaSettings.MAX_DEVICE_ORDINAL));
            Availability a = new CudaBackendProvider().probe();
            assertThat(a.misconfigured()).isTrue();
            assertThat(a.reason()).contains("based4j.cuda.device").contains("device " + CudaSettings.MAX_DEVICE_ORDINAL
                    + " requested but the driver sees");
            assertThat(a.fix()).contains("0..");
        }

        @Test
        void selectionRefusesToFallBackToAnotherBackend() {
            assumeTrue(Settings.BACKEND.configured().isEmpty(), "a backend is named by the environment");
            set(CudaSettings.DEVICE, "gpu0");
            assertThatThrownBy(Backends::select).isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("cuda").hasMessageContaining("misconfigured")
                    .hasMessageContaining("based4j.cuda.device");
        }
    }

    @Nested
    class ALibraryPathThatIsNotARegularFileIsRefusedBeforeAnyNativeLoad {
        @TempDir
        Path dir;

        @Test
        void aFifoAsTheDriverLibrary() throws Exception {
            Path fifo = fifo(dir);
            set(CudaSettings.DRIVER_LIBRARY, fifo.toString());
            Availability a = probe();
            assertThat(a.usable()).isFalse();
            assertThat(a.misconfigured()).isTrue();
            assertThat(a.reason()).contains("based4j.cuda.driverLibrary").contains(fifo.toString()).contains("FIFO");
            assertThat(a.fix()).contains("based4j.cuda.driverLibrary");
        }

        @Test
        void aFolderAsTheDriverLibrary() {
            set(CudaSettings.DRIVER_LIBRARY, dir.toString());
            Availability a = probe();
            assertThat(a.misconfigured()).isTrue();
            assertThat(a.reason()).contains("based4j.cuda.driverLibrary").contains(dir.toString()).contains("folder");
        }

        @Test
        void aDeviceAsTheDriverLibrary() {
            assumeTrue(Files.exists(Path.of("/dev/zero")), "no /dev/zero here");
            set(CudaSettings.DRIVER_LIBRARY, "/dev/zero");
            Availability a = probe();
            assertThat(a.misconfigured()).isTrue();
            assertThat(a.reason()).contains("based4j.cuda.driverLibrary").contains("/dev/zero").contains("device");
        }

        @Test
        void aFifoAsNvrtc() throws Exception {
            Path fifo = fifo(dir);
            set(CudaSettings.NVRTC_LIBRARY, fifo.toString());
            Availability a = probe();
            assertThat(a.misconfigured()).isTrue();
            assertThat(a.reason()).contains("based4j.cuda.nvrtcLibrary").contains(fifo.toString()).contains("FIFO");
        }

        @Test
        void theDriverBindingItselfRefusesAFifo() throws Exception {
            Path fifo = fifo(dir);
            assertTimeoutPreemptively(QUICKLY, () -> assertThatThrownBy(() -> CudaDriver.load(fifo.toString()))
                    .isInstanceOf(NativeLibraryException.class).hasMessageContaining(fifo.toString())
                    .hasMessageContaining("not a regular file"));
        }

        @Test
        void theNvrtcBindingItselfRefusesAFifo() throws Exception {
            Path fifo = fifo(dir);
            assertTimeoutPreemptively(QUICKLY, () -> assertThatThrownBy(() -> Nvrtc.load(fifo.toString()))
                    .isInstanceOf(NativeLibraryException.class).hasMessageContaining(fifo.toString())
                    .hasMessageContaining("not a regular file"));
        }
    }
}
