package dev.based4j.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.Backends;
import dev.based4j.Availability;
import dev.based4j.spi.BackendProvider;
import dev.based4j.tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class OpenClBackendProviderTest {
    @Test
    void isFoundByTheServiceLoaderUnderItsName() {
        assertThat(Backends.providers()).extracting(BackendProvider::name).contains(OpenClBackendProvider.NAME);
        assertThat(Backends.provider("OpenCL")).isPresent();
    }

    @Test
    void probeReportsDataAndNeverThrows() {
        Availability a = new OpenClBackendProvider().probe();
        if (a.usable()) {
            assertThat(a.device()).isNotBlank();
            assertThat(a.precisions()).contains(DType.F32);
        } else {
            assertThat(a.reason()).as("reason").isNotBlank();
            assertThat(a.fix()).as("fix").isNotBlank();
        }
    }

    @Test
    void listsEveryDeviceAndMarksTheSelectedOne() {
        Availability a = new OpenClBackendProvider().probe();
        assumeTrue(a.usable(), () -> "no usable OpenCL device: " + a.reason());
        List<OpenClDevice> devices = OpenClBackendProvider.listDevices();
        assertThat(devices).isNotEmpty();
        assertThat(devices).filteredOn(OpenClDevice::selected).hasSize(1)
                .first().extracting(OpenClDevice::describe).isEqualTo(a.device());
    }

    @Nested
    class DeviceSelection {
        private static ClDevices.Handle device(int p, int d, String platform, String name, String type, boolean usable) {
            return new ClDevices.Handle(p * 10L + d + 1, p * 10L + d + 1, new OpenClDevice(p, d, platform, name, "v",
                    type, usable ? "OpenCL 3.0" : "OpenCL 1.1", "1", 4, 1L << 30, 65536, 256, true, usable, false));
        }

        private final List<ClDevices.Handle> devices = List.of(
                device(0, 0, "Portable Computing Language", "pthread-haswell", "CPU", true),
                device(1, 0, "NVIDIA CUDA", "NVIDIA H100", "GPU", true),
                device(1, 1, "NVIDIA CUDA", "Old Card", "GPU", false));

        @Test
        void emptySettingTakesTheFirstGpu() {
            assertThat(ClDevices.select(devices, "").handle()).isSameAs(devices.get(1));
        }

        @Test
        void emptySettingFallsBackToTheFirstDeviceWithoutGpu() {
            assertThat(ClDevices.select(devices.subList(0, 1), " ").handle()).isSameAs(devices.get(0));
        }

        @Test
        void platformAndDeviceIndex() {
            assertThat(ClDevices.select(devices, "0:0").handle()).isSameAs(devices.get(0));
        }

        @Test
        void nameSubstringIgnoringCase() {
            assertThat(ClDevices.select(devices, "h100").handle()).isSameAs(devices.get(1));
            assertThat(ClDevices.select(devices, "portable").handle()).isSameAs(devices.get(0));
        }

        @Test
        void noMatchSaysWhichSettingAndListsTheDevices() {
            ClDevices.Selection s = ClDevices.select(devices, "7:3");
            assertThat(s.handle()).isNull();
            assertThat(s.problem()).contains("based4j.opencl.device='7:3'", "0:0 pthread-haswell", "1:0 NVIDIA H100");
        }

        @Test
        void aDeviceBelowOpenCl12IsRefusedWithItsVersion() {
            ClDevices.Selection s = ClDevices.select(devices, "Old Card");
            assertThat(s.handle()).isNull();
            assertThat(s.problem()).contains("OpenCL 1.1", "1.2");
        }
    }

    @Nested
    class DeviceSetting {
        private static Availability probeWith(String value) {
            String previous = System.getProperty(OpenClSettings.DEVICE.property());
            System.setProperty(OpenClSettings.DEVICE.property(), value);
            try {
                return new OpenClBackendProvider().probe();
            } finally {
                if (previous == null) {
                    System.clearProperty(OpenClSettings.DEVICE.property());
                } else {
                    System.setProperty(OpenClSettings.DEVICE.property(), previous);
                }
            }
        }

        @Test
        void isListedByTheProviderUnderItsPropertyAndEnvironmentNames() {
            assertThat(new OpenClBackendProvider().settings()).singleElement().satisfies(s -> {
                assertThat(s.property()).isEqualTo("based4j.opencl.device");
                assertThat(s.environment()).isEqualTo("BASED4J_OPENCL_DEVICE");
                assertThat(s.defaultValue()).isEmpty();
            });
        }

        @Test
        void anIndexTooLargeForAnIntIsMisconfiguredNamingTheSettingAndTheValue() {
            Availability a = probeWith("99999999999:0");
            assertThat(a.usable()).isFalse();
            assertThat(a.misconfigured()).as("misconfigured").isTrue();
            assertThat(a.reason()).contains("based4j.opencl.device (BASED4J_OPENCL_DEVICE)", "'99999999999:0'",
                    "0..2147483647").doesNotContain("NumberFormatException");
            assertThat(a.fix()).contains("based4j.opencl.device", "P:D");
        }

        @Test
        void aMalformedIndexIsMisconfiguredBeforeAnyDriverIsLoaded() {
            for (String value : List.of("-1:0", "1:", ":2", "0: -3")) {
                assertThat(OpenClSettingsProbe.misconfigured(value)).as("misconfigured for '%s'", value).isTrue();
            }
        }

        @Test
        void aNameOrAnIndexIsAcceptedAsItWasBefore() {
            assertThat(OpenClSettings.parse("")).isInstanceOf(OpenClSettings.DeviceChoice.Default.class);
            assertThat(OpenClSettings.parse(" 1:2 ")).isEqualTo(new OpenClSettings.DeviceChoice.Index(1, 2, "1:2"));
            assertThat(OpenClSettings.parse("NVIDIA H100"))
                    .isEqualTo(new OpenClSettings.DeviceChoice.Name("nvidia h100", "NVIDIA H100"));
        }

        @Test
        void anIndexThatMatchesNoDeviceIsUnusableAndListsTheDevices() {
            Availability a = probeWith("2147483647:0");
            assertThat(a.usable()).isFalse();
            assertThat(a.misconfigured()).as("misconfigured").isFalse();
            assertThat(a.reason()).containsAnyOf("matches no OpenCL device", "OpenCL was not loaded",
                    "no OpenCL ICD loader", "no OpenCL platform");
        }
    }

    /** {@link OpenClSettings#parse} as the probe sees it: misconfigured or not. */
    private static final class OpenClSettingsProbe {
        static boolean misconfigured(String value) {
            try {
                OpenClSettings.parse(value);
                return false;
            } catch (IllegalArgumentException e) {
                assertThat(e).hasMessageContaining("based4j.opencl.device").hasMessageContaining("'" + value.strip()
                        + "'");
                return true;
            }
        }
    }

    @Test
    void errorCodesAreNamed() {
        OpenClException e = new OpenClException("clEnqueueNDRangeKernel(la_chunked)", -5, "");
        assertThat(e).hasMessage("clEnqueueNDRangeKernel(la_chunked): CL_OUT_OF_RESOURCES (-5)");
        assertThat(e.errorName()).isEqualTo("CL_OUT_OF_RESOURCES");
        assertThat(new OpenClException("clCreateBuffer", -30, "").getMessage()).contains("CL_INVALID_VALUE");
        assertThat(new OpenClException("clGetPlatformIDs", -1001, "").getMessage()).contains("CL_PLATFORM_NOT_FOUND_KHR");
        assertThat(new OpenClException("x", -12345, "").getMessage()).contains("CL_UNKNOWN_ERROR (-12345)");
    }
}
