package dev.based4j.cuda;

import dev.based4j.Settings;
import dev.based4j.cuda.driver.CudaDriver;
import dev.based4j.cuda.driver.CudaErrors;
import dev.based4j.cuda.driver.CudaException;
import dev.based4j.cuda.driver.NativeLibraryException;
import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.spi.BackendProvider;
import dev.based4j.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Set;

/**
 * The CUDA backend's entry point: NVIDIA GPUs through the CUDA driver API. Constructing it loads nothing;
 * {@link #probe()} loads {@code libcuda.so.1} (never calling into a library that is not there), finds the device
 * and checks that the driver accepts the kernels; it never throws.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** The name users select it by. */
    public static final String NAME = "cuda";

    /** Creates the provider; cheap, loads nothing. */
    public CudaBackendProvider() {}

    @Override
    public String name() {
        return NAME;
    }

    /** @return 300: a GPU wins over the OpenCL and CPU backends when usable */
    @Override
    public int priority() {
        return 300;
    }

    @Override
    public String description() {
        return "CUDA kernels on an NVIDIA GPU (driver API through java.lang.foreign; PTX by nvcc or NVRTC)";
    }

    @Override
    public Availability probe() {
        try {
            return probeOrThrow();
        } catch (RuntimeException | LinkageError e) {
            return Availability.unusable("CUDA probe failed: " + e,
                    "report this as a bug of backend " + NAME + " with the message above");
        }
    }

    private static Availability probeOrThrow() {
        KernelImages.Mode mode;
        try {
            mode = kernelMode();
        } catch (IllegalArgumentException e) {
            return Availability.unusable(e.getMessage(), "set based4j.cuda.kernels to auto, ptx or nvrtc");
        }
        String library = driverLibrary();
        CudaDriver driver;
        try {
            driver = CudaDriver.load(library);
        } catch (NativeLibraryException e) {
            return Availability.unusable("no CUDA driver library (" + library + ") found: " + e.getMessage(),
                    "install the NVIDIA driver, which provides " + CudaDriver.defaultLibrary()
                            + " (or set based4j.cuda.driverLibrary to its path); on a machine without an NVIDIA GPU"
                            + " select another backend, e.g. -Dbased4j.backend=cpu");
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
        int ordinal;
        try {
            ordinal = Settings.CUDA_DEVICE.intValue();
        } catch (IllegalArgumentException e) {
            return Availability.unusable(e.getMessage(), "set based4j.cuda.device to a device ordinal, 0.." + (count - 1));
        }
        if (ordinal < 0 || ordinal >= count) {
            return Availability.unusable("CUDA device " + ordinal + " requested (based4j.cuda.device) but the driver"
                    + " sees " + count + " device" + (count == 1 ? "" : "s"),
                    "set based4j.cuda.device to 0.." + (count - 1));
        }
        int device = driver.device(ordinal);
        String name = driver.deviceName(device);
        int cc = 10 * driver.deviceAttribute(CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
                + driver.deviceAttribute(CudaDriver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        int driverVersion = driver.driverVersion();
        String driverText = driverVersion / 1000 + "." + driverVersion % 1000 / 10;
        KernelImages.Plan plan;
        try {
            plan = KernelImages.plan(cc, mode, Settings.CUDA_NVRTC_LIBRARY.value(),
                    List.of(KernelImages.MODULES.getFirst()));
        } catch (IllegalStateException e) {
            return Availability.unusable(name + " (compute capability " + KernelImages.ccText(cc) + "): "
                    + e.getMessage(), "build based4j with nvcc for this architecture, or install NVRTC (libnvrtc) of"
                    + " a CUDA version this driver (CUDA " + driverText + ") supports, or set based4j.cuda.nvrtcLibrary");
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
                Set.of(DType.F32, DType.F64));
    }

    /**
     * @throws IllegalStateException with the probe's reason and fix when the backend cannot run here
     */
    @Override
    public Backend create() {
        Availability a = probe();
        if (!a.usable()) {
            throw new IllegalStateException("backend " + NAME + " cannot run here: " + a.reason() + "; fix: " + a.fix());
        }
        CudaDriver driver = CudaDriver.load(driverLibrary());
        CudaContext context = CudaContext.open(driver, Settings.CUDA_DEVICE.intValue(), kernelMode(),
                Settings.CUDA_NVRTC_LIBRARY.value());
        try {
            return new CudaBackend(context);
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    static String driverLibrary() {
        String configured = Settings.CUDA_DRIVER_LIBRARY.value();
        return configured.isBlank() ? CudaDriver.defaultLibrary() : configured.strip();
    }

    static KernelImages.Mode kernelMode() {
        return KernelImages.Mode.parse(Settings.CUDA_KERNELS.value());
    }
}
