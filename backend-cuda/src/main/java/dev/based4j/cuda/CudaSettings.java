package dev.based4j.cuda;

import dev.based4j.Setting;
import dev.based4j.cuda.device.KernelImages;
import dev.based4j.cuda.driver.CudaDriver;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The settings of the CUDA backend, listed by {@code based4j info} under {@code cuda}. Each is read from its system
 * property, else its environment variable, else its default; the reading methods validate, so that
 * {@link CudaBackendProvider#probe()} can report a malformed value as misconfigured before anything native is
 * loaded.
 */
public final class CudaSettings {
    private CudaSettings() {}

    /** The highest device ordinal accepted: far above the devices one machine has, and a readable range. */
    static final int MAX_DEVICE_ORDINAL = 1023;

    /** CUDA device ordinal. */
    public static final Setting DEVICE = new Setting("based4j.cuda.device", "BASED4J_CUDA_DEVICE", "0",
            "CUDA device ordinal, from 0, in the order of the driver (after CUDA_VISIBLE_DEVICES).");

    /** Name or path of the CUDA driver library. */
    public static final Setting DRIVER_LIBRARY = new Setting("based4j.cuda.driverLibrary",
            "BASED4J_CUDA_DRIVER_LIBRARY", "",
            "Name or path of the CUDA driver library the CUDA backend loads; empty = libcuda.so.1 (nvcuda.dll on"
                    + " Windows). A path must name a regular file.");

    /** Name or path of NVRTC. */
    public static final Setting NVRTC_LIBRARY = new Setting("based4j.cuda.nvrtcLibrary",
            "BASED4J_CUDA_NVRTC_LIBRARY", "",
            "Name or path of NVRTC, used to compile the CUDA kernels at run time when no packaged PTX fits; empty ="
                    + " search libnvrtc.so, .so.13, .so.12. A path must name a regular file.");

    /** Where the CUDA kernels come from. */
    public static final Setting KERNELS = new Setting("based4j.cuda.kernels", "BASED4J_CUDA_KERNELS", "auto",
            "Source of the CUDA kernels: auto (packaged PTX for the device, else NVRTC), ptx (packaged PTX only) or"
                    + " nvrtc (always compile the sources at run time).");

    /** @return every setting of the CUDA backend */
    public static List<Setting> all() {
        return List.of(DEVICE, DRIVER_LIBRARY, NVRTC_LIBRARY, KERNELS);
    }

    /**
     * @return the configured device ordinal
     * @throws IllegalArgumentException naming the setting and the value when it is not an integer in
     *     0..{@value #MAX_DEVICE_ORDINAL}
     */
    public static int device() {
        return DEVICE.intValue(0, MAX_DEVICE_ORDINAL);
    }

    /**
     * @return the configured driver library: a name for the system loader ({@code libcuda.so.1} when unset) or
     *     the path of a regular file
     * @throws IllegalArgumentException naming the setting and the value when it is a path to something that is not
     *     a regular file (a folder, a FIFO, a device: loading it could block or fail obscurely)
     */
    public static String driverLibrary() {
        return library(DRIVER_LIBRARY).orElse(CudaDriver.defaultLibrary());
    }

    /**
     * @return the configured NVRTC library, or empty text to search the default names
     * @throws IllegalArgumentException naming the setting and the value when it is a path to something that is not
     *     a regular file
     */
    public static String nvrtcLibrary() {
        return library(NVRTC_LIBRARY).orElse("");
    }

    /**
     * @return where the kernels come from
     * @throws IllegalArgumentException naming the setting and the value when it is none of auto, ptx, nvrtc
     */
    static KernelImages.Mode kernels() {
        try {
            return KernelImages.Mode.parse(KERNELS.value());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(KERNELS.names() + ": " + e.getMessage());
        }
    }

    /**
     * The value of a library setting: a name (no separator) is left to the system loader; a path must exist as a
     * regular file, checked with {@code stat} only, which never blocks. A path that does not exist passes: the
     * loader then reports it missing, which the probe words as a missing driver.
     */
    private static Optional<String> library(Setting setting) {
        Optional<String> configured = setting.configured();
        if (configured.isEmpty()) {
            return Optional.empty();
        }
        String value = configured.get();
        if (!isPath(value)) {
            return configured;
        }
        Path path;
        try {
            path = Path.of(value);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(setting.names() + ": expected the name or path of a library, got '"
                    + value + "' (" + e.getReason() + ")");
        }
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            throw new IllegalArgumentException(setting.names() + ": expected a library file, got '" + value
                    + "', which is " + kind(path));
        }
        return configured;
    }

    /** @return whether {@code library} is a path rather than a name for the system loader */
    static boolean isPath(String library) {
        return library.indexOf('/') >= 0 || library.indexOf('\\') >= 0;
    }

    /** @return what a path that exists but is not a regular file is, in words */
    static String kind(Path path) {
        if (Files.isDirectory(path)) {
            return "a folder";
        }
        try {
            // st_mode's file type, where the platform has the "unix" attribute view (Linux, macOS)
            int type = (Integer) Files.getAttribute(path, "unix:mode") & 0170000;
            switch (type) {
                case 0010000 -> {
                    return "a FIFO (named pipe)";
                }
                case 0020000 -> {
                    return "a character device";
                }
                case 0060000 -> {
                    return "a block device";
                }
                case 0140000 -> {
                    return "a socket";
                }
                default -> {
                    // fall through to the general words
                }
            }
        } catch (UnsupportedOperationException | IllegalArgumentException | java.io.IOException
                | ClassCastException e) {
            // no "unix" view here: the general words below
        }
        return "not a regular file (a FIFO, a socket or a device)";
    }
}
