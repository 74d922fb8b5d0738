package dev.based4j.cuda;

import dev.based4j.Availability;
import dev.based4j.Setting;
import dev.based4j.cuda.device.KernelImages;
import dev.based4j.cuda.driver.CudaDriver;
import dev.based4j.cuda.driver.CudaErrors;
import dev.based4j.cuda.driver.CudaException;
import dev.based4j.cuda.driver.NativeLibraryException;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;

/**
 * The CUDA backend's entry point: NVIDIA GPUs through the CUDA driver API, name {@code cuda}, priority
 * {@value #PRIORITY}. Constructing it loads nothing. {@link #probe()} first validates the settings
 * ({@link CudaSettings}; a malformed one is {@link Availability#misconfigured misconfigured}, found before anything
 * native is loaded), then, on a thread of its own and for at most {@link #PROBE_DEADLINE}, loads the driver library
 * (never calling into a library that is not the driver), finds the device and checks that the driver accepts the
 * kernels. It never throws and never blocks longer than the deadline.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** The name users select it by. */
    public static final String NAME = "cuda";
    /** Preference when nothing is named: a usable GPU wins over the OpenCL and CPU backends. */
    public static final int PRIORITY = 300;
    /**
     * The longest a probe may take: loading the driver, initialising it and JIT-compiling one small kernel module
     * take a few seconds on a cold machine; a probe past this is waiting for something that does not answer.
     */
    public static final Duration PROBE_DEADLINE = Duration.ofSeconds(30);

    private static final String NO_GPU_FIX = "on a machine without an NVIDIA GPU select another backend, e.g."
            + " -Dbased4j.backend=cpu";
    private static final ProbeDeadline DEADLINE = new ProbeDeadline(NAME, PROBE_DEADLINE,
            "check the NVIDIA driver (nvidia-smi answers?) and that " + CudaSettings.DRIVER_LIBRARY.names()
                    + " names the driver library, not a file that cannot be read; " + NO_GPU_FIX);

    /** The settings, validated. */
    private record Config(int ordinal, KernelImages.Mode kernels, String driverLibrary, String nvrtcLibrary) {}

    /** Creates the provider; cheap, loads nothing. */
    public CudaBackendProvider() {}

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    @Override
    public String description() {
        return "CUDA kernels on an NVIDIA GPU (driver API through java.lang.foreign; PTX by nvcc or NVRTC)";
    }

    @Override
    public List<Setting> settings() {
        return CudaSettings.all();
    }

    @Override
    public Availability probe() {
        Config config;
        try {
            config = config();
        } catch (Misconfigured m) {
            return Availability.misconfigured(m.getMessage(), m.fix);
        }
        return DEADLINE.run(() -> {
            try {
                return probeDevice(config);
            } catch (RuntimeException | LinkageError e) {
                return Availability.unusable("CUDA probe failed: " + e,
                        "report this as a bug of backend " + NAME + " with the message above");
            }
        });
    }

    /** A malformed setting: the reason names the setting and the value; {@code fix} says what to set. */
    private static final class Misconfigured extends Exception {
        private static final long serialVersionUID = 1L;
        private final String fix;

        Misconfigured(IllegalArgumentException e, String fix) {
            super(e.getMessage(), e);
            this.fix = fix;
        }
    }

    private static Config config() throws Misconfigured {
        KernelImages.Mode kernels;
        try {
            kernels = CudaSettings.kernels();
        } catch (IllegalArgumentException e) {
            throw new Misconfigured(e, "set " + CudaSettings.KERNELS.names() + " to auto, ptx or nvrtc");
        }
        int ordinal;
        try {
            ordinal = CudaSettings.device();
        } catch (IllegalArgumentException e) {
            throw new Misconfigured(e, "set " + CudaSettings.DEVICE.names() + " to a device ordinal from 0, as"
                    + " nvidia-smi numbers the devices");
        }
        String driver;
        try {
            driver = CudaSettings.driverLibrary();
        } catch (IllegalArgumentException e) {
            throw new Misconfigured(e, "set " + CudaSettings.DRIVER_LIBRARY.names() + " to the path of the driver"
                    + " library file (" + CudaDriver.defaultLibrary() + "), or leave it unset to let the system find it");
        }
        String nvrtc;
        try {
            nvrtc = CudaSettings.nvrtcLibrary();
        } catch (IllegalArgumentException e) {
            throw new Misconfigured(e, "set " + CudaSettings.NVRTC_LIBRARY.names() + " to the path of the NVRTC"
                    + " library file (libnvrtc.so), or leave it unset to search the default names");
        }
        return new Config(ordinal, kernels, driver, nvrtc);
    }

    private static Availability probeDevice(Config config) {
        String library = config.driverLibrary();
        CudaDriver driver;
        try {
            driver = CudaDriver.load(library);
        } catch (NativeLibraryException e) {
            return Availability.unusable("no CUDA driver library (" + library + ") found: " + e.getMessage(),
                    "install the NVIDIA driver, which provides " + CudaDriver.defaultLibrary() + " (or set "
                            + CudaSettings.DRIVER_LIBRARY.names() + " to its path); " + NO_GPU_FIX);
        }
        try {
            driver.init();
        } catch (CudaException e) {
            return switch (e.code()) {
                case CudaErrors.NO_DEVICE -> Availability.unusable("no CUDA device: " + e.getMessage(),
                        "run on a machine with an NVIDIA GPU (check nvidia-smi and CUDA_VISIBLE_DEVICES)");
                case CudaErrors.STUB_LIBRARY -> Availability.unusable(library
                        + " is the CUDA toolkit's stub library, not the driver: " + e.getMessage(),
                        "install the NVIDIA driver and put its libcuda.so.1 before the toolkit's stubs directory");
                default -> Availability.unusable("the CUDA driver failed to initialise: " + e.getMessage(),
                        "check the NVIDIA driver installation (nvidia-smi) and that the device is not in use"
                                + " exclusively by another process");
            };
        }
        int count = driver.deviceCount();
        if (count == 0) {
            return Availability.unusable("no CUDA device: cuDeviceGetCount returned 0",
                    "run on a machine with an NVIDIA GPU (check nvidia-smi and CUDA_VISIBLE_DEVICES)");
        }
        int ordinal = config.ordinal();
        if (ordinal >= count) {
            return Availability.misconfigured(CudaSettings.DEVICE.names() + ": device " + ordinal
                    + " requested but the driver sees " + count + " device" + (count == 1 ? "" : "s"),
                    "set " + CudaSettings.DEVICE.names() + " to 0.." + (count - 1));
        }
        int device = driver.device(ordinal);
        String name = driver.deviceName(device);
        int cc = 10 * driver.deviceAttribute(CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
                + driver.deviceAttribute(CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        int driverVersion = driver.driverVersion();
        String driverText = driverVersion / 1000 + "." + driverVersion % 1000 / 10;
        KernelImages.Plan plan;
        try {
            plan = KernelImages.plan(cc, config.kernels(), config.nvrtcLibrary(),
                    List.of(KernelImages.MODULES.getFirst()));
        } catch (IllegalStateException e) {
            return Availability.unusable(name + " (compute capability " + KernelImages.ccText(cc) + "): "
                    + e.getMessage(), "build based4j with nvcc for this architecture, or install NVRTC (libnvrtc) of"
                    + " a CUDA version this driver (CUDA " + driverText + ") supports, or set "
                    + CudaSettings.NVRTC_LIBRARY.names());
        }
        // the decisive check: does this driver accept the PTX? (all modules come from the same compiler)
        MemorySegment context = driver.primaryContextRetain(device);
        try {
            driver.setCurrentContext(context);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment module = driver.moduleLoadData(a.allocateFrom(plan.ptx().values().iterator().next()));
                driver.moduleUnload(module);
            }
        } catch (CudaException e) {
            if (e.code() == CudaErrors.UNSUPPORTED_PTX_VERSION || e.code() == CudaErrors.INVALID_PTX
                    || e.code() == CudaErrors.NO_BINARY_FOR_GPU) {
                return Availability.unusable("the NVIDIA driver (CUDA " + driverText + ") is too old for the kernels ("
                        + plan.describe() + "): " + e.getMessage(),
                        "update the NVIDIA driver to one for CUDA " + plan.compiler().replaceAll("[^0-9.]", "")
                                + " or newer, or build based4j with an nvcc no newer than the driver");
            }
            return Availability.unusable("the driver refused the kernels on " + name + ": " + e.getMessage(),
                    "check the NVIDIA driver installation (nvidia-smi)");
        } finally {
            try {
                driver.setCurrentContext(MemorySegment.NULL);
            } finally {
                driver.primaryContextRelease(device);
            }
        }
        return Availability.usable(name + " (sm_" + cc + ", driver CUDA " + driverText + "; " + plan.describe() + ")",
                EnumSet.of(DType.F32, DType.F64));
    }

    /**
     * Creates the engine on the device of {@link CudaSettings#DEVICE}.
     *
     * @throws IllegalStateException with the probe's reason and fix when the backend cannot run here
     */
    @Override
    public Engine<?> create() {
        Availability a = probe();
        if (!a.usable()) {
            throw new IllegalStateException("backend " + NAME + " cannot run here: " + a.reason() + "; fix: " + a.fix());
        }
        Config config;
        try {
            config = config();
        } catch (Misconfigured m) {
            // a setting changed since the probe a moment ago
            throw new IllegalStateException("backend " + NAME + " cannot start: " + m.getMessage() + "; fix: " + m.fix,
                    m);
        }
        return CudaEngine.open(config.driverLibrary(), config.ordinal(), config.kernels(), config.nvrtcLibrary());
    }
}
