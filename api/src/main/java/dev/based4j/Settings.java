package dev.based4j;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Every based4j setting in one place. Each is read from its system property first, then its environment
 * variable, else its default. Code reads settings only through this class.
 */
public final class Settings {
    private Settings() {}

    /** One setting: where it is read from, its default and what it does. */
    public record Setting(String property, String environment, String defaultValue, String description) {
        /** @return the configured value, or empty when neither the property nor the variable is set */
        public Optional<String> configured() {
            String p = System.getProperty(property);
            if (p != null && !p.isBlank()) {
                return Optional.of(p.strip());
            }
            String e = System.getenv(environment);
            if (e != null && !e.isBlank()) {
                return Optional.of(e.strip());
            }
            return Optional.empty();
        }

        /** @return the configured value or the default (may be empty text) */
        public String value() {
            return configured().orElse(defaultValue);
        }

        /**
         * @return the value as an int
         * @throws IllegalArgumentException naming the property when it is not an integer
         */
        public int intValue() {
            String v = value();
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        property + " (" + environment + "): expected an integer, got '" + v + "'", e);
            }
        }

        /** @return the value as a boolean ({@code true/false/1/0/yes/no}) */
        public boolean booleanValue() {
            String v = value().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "true", "1", "yes", "on" -> true;
                case "false", "0", "no", "off", "" -> false;
                default -> throw new IllegalArgumentException(
                        property + " (" + environment + "): expected true or false, got '" + v + "'");
            };
        }
    }

    /** Backend to use when none is named in code. */
    public static final Setting BACKEND = new Setting("based4j.backend", "BASED4J_BACKEND", "",
            "Backend to use when the code names none (cpu, opencl, cuda, onnx, ...); empty = highest-priority usable.");

    /** Threads of the CPU backend. */
    public static final Setting CPU_THREADS = new Setting("based4j.cpu.threads", "BASED4J_CPU_THREADS", "0",
            "Worker threads of the CPU backend; 0 = one per available processor.");

    /** Forces the CPU backend's plain-Java F32 path. */
    public static final Setting CPU_NO_VECTOR = new Setting("based4j.cpu.noVector", "BASED4J_CPU_NO_VECTOR", "false",
            "true forces the CPU backend's plain-Java F32 kernels even when jdk.incubator.vector is present.");

    /**
     * OpenCL device choice. Syntax: {@code P:D} selects device D of platform P (indices as {@code based4j info}
     * lists them, both from 0); any other text selects the first device whose name or platform name contains it,
     * ignoring case (for example {@code h100} or {@code portable}); empty selects the first GPU, else the first
     * device. A value that matches no device makes the OpenCL backend unusable with a message listing the devices.
     */
    public static final Setting OPENCL_DEVICE = new Setting("based4j.opencl.device", "BASED4J_OPENCL_DEVICE", "",
            "OpenCL device: 'P:D' (platform and device index, from 0, as 'based4j info' lists them) or a"
                    + " case-insensitive substring of the device or platform name; empty = first GPU, else first device.");

    /** CUDA device ordinal. */
    public static final Setting CUDA_DEVICE = new Setting("based4j.cuda.device", "BASED4J_CUDA_DEVICE", "0",
            "CUDA device ordinal.");

    /** Name or path of the CUDA driver library. */
    public static final Setting CUDA_DRIVER_LIBRARY = new Setting("based4j.cuda.driverLibrary",
            "BASED4J_CUDA_DRIVER_LIBRARY", "",
            "Name or path of the CUDA driver library the CUDA backend loads; empty = libcuda.so.1 (nvcuda.dll on Windows).");

    /** Name or path of NVRTC. */
    public static final Setting CUDA_NVRTC_LIBRARY = new Setting("based4j.cuda.nvrtcLibrary",
            "BASED4J_CUDA_NVRTC_LIBRARY", "",
            "Name or path of NVRTC, used to compile the CUDA kernels at run time when no packaged PTX fits; empty = search libnvrtc.so, .so.13, .so.12.");

    /** Where the CUDA kernels come from. */
    public static final Setting CUDA_KERNELS = new Setting("based4j.cuda.kernels", "BASED4J_CUDA_KERNELS", "auto",
            "Source of the CUDA kernels: auto (packaged PTX for the device, else NVRTC), ptx (packaged PTX only) or nvrtc (always compile the sources at run time).");

    /** ONNX Runtime intra-op threads. */
    public static final Setting ONNX_THREADS = new Setting("based4j.onnx.threads", "BASED4J_ONNX_THREADS", "0",
            "Intra-op threads of ONNX Runtime sessions; 0 = ONNX Runtime's default.");

    /** Size of the hardening harnesses of the conformance kit. */
    public static final Setting HARDENING_SCALE = new Setting("based4j.hardening.scale", "BASED4J_HARDENING_SCALE",
            "reduced", "Size of the hardening harnesses (fuzzing, leaks, threads): 'reduced' for every build, 'full'"
                    + " for the long run (10,000 fuzzed calls, 1,000,000 kernel calls, 8 threads x 10,000 steps).");

    /** @return every setting, for documentation and {@code based4j info} */
    public static List<Setting> all() {
        return List.of(BACKEND, CPU_THREADS, CPU_NO_VECTOR, OPENCL_DEVICE, CUDA_DEVICE, CUDA_DRIVER_LIBRARY,
                CUDA_NVRTC_LIBRARY, CUDA_KERNELS, ONNX_THREADS, HARDENING_SCALE);
    }
}
