package dev.based4j.cuda.device;

import dev.based4j.cuda.driver.Nvrtc;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where the kernels come from: PTX packaged by the build (resources {@code dev/based4j/cuda/ptx/sm_XY/*.ptx},
 * written by nvcc for the architectures in {@code ptx.properties}) or the CUDA sources (resources
 * {@code dev/based4j/cuda/kernels/*.cu}) compiled by NVRTC for the device at run time.
 */
public final class KernelImages {
    /** The kernel modules, one per source file; the first is the smallest (used by the probe). */
    public static final List<String> MODULES =
            List.of("conv", "plumbing", "feature_map", "linear_attention", "sliding_window", "based_attention");
    /** Headers the sources include. */
    public static final List<String> HEADERS = List.of("b4j_common.cuh", "b4j_feature_map.cuh");

    private static final String PTX_ROOT = "/dev/based4j/cuda/ptx/";
    private static final String SOURCE_ROOT = "/dev/based4j/cuda/kernels/";
    private static final Map<String, Map<String, String>> COMPILED = new ConcurrentHashMap<>();

    /** Where {@link #ptx} comes from. */
    public enum Source {
        /** ahead-of-time PTX from the build */
        PACKAGED,
        /** compiled at run time by NVRTC */
        NVRTC
    }

    /** How the setting {@code based4j.cuda.kernels} chooses. */
    public enum Mode {
        /** packaged PTX for the device if any fits, else NVRTC */
        AUTO,
        /** packaged PTX only */
        PTX,
        /** always NVRTC */
        NVRTC;

        /**
         * @param text {@code auto}, {@code ptx} or {@code nvrtc}, in any case
         * @throws IllegalArgumentException naming the value when {@code text} is none of them
         */
        public static Mode parse(String text) {
            return switch (text == null ? "" : text.strip().toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "ptx" -> PTX;
                case "nvrtc" -> NVRTC;
                default -> throw new IllegalArgumentException("expected auto, ptx or nvrtc, got '" + text + "'");
            };
        }
    }

    /**
     * The kernels chosen for one device.
     *
     * @param source packaged PTX or NVRTC
     * @param architecture the PTX target, e.g. 90 for {@code compute_90}
     * @param compiler who wrote the PTX, e.g. {@code nvcc 13.0} or {@code NVRTC 13.0}
     * @param ptx module name → PTX text (without the trailing NUL)
     */
    public record Plan(Source source, int architecture, String compiler, Map<String, String> ptx) {
        /** @return e.g. {@code packaged PTX compute_90 (nvcc 13.0)} */
        public String describe() {
            return (source == Source.PACKAGED ? "packaged PTX" : "PTX compiled at run time") + " compute_"
                    + architecture + " (" + compiler + ")";
        }
    }

    private KernelImages() {}

    /** @return the architectures the build packaged PTX for (e.g. [80, 90]); empty when it had no nvcc */
    public static List<Integer> packagedArchitectures() {
        return packagedInfo().map(p -> {
            List<Integer> out = new ArrayList<>();
            for (String a : p.getProperty("architectures", "").trim().split("\\s+")) {
                if (!a.isEmpty()) {
                    out.add(Integer.parseInt(a));
                }
            }
            return out;
        }).orElse(List.of());
    }

    /** @return the nvcc version that wrote the packaged PTX, e.g. {@code 13.0}; empty without packaged PTX */
    public static Optional<String> packagedCompiler() {
        return packagedInfo().map(p -> p.getProperty("nvcc", "?"));
    }

    private static Optional<Properties> packagedInfo() {
        try (InputStream in = KernelImages.class.getResourceAsStream(PTX_ROOT + "ptx.properties")) {
            if (in == null) {
                return Optional.empty();
            }
            Properties p = new Properties();
            p.load(in);
            return Optional.of(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the packaged PTX list", e);
        }
    }

    /** @return the highest packaged architecture not above {@code computeCapability} (10·major + minor) */
    public static Optional<Integer> packagedFor(int computeCapability) {
        return packagedArchitectures().stream().filter(a -> a <= computeCapability).max(Integer::compare);
    }

    /**
     * Chooses and loads the kernels for a device.
     *
     * @param computeCapability 10·major + minor of the device
     * @param mode the configured choice
     * @param nvrtcLibrary the configured NVRTC library (empty: search the default names)
     * @param modules which modules to load (all of {@link #MODULES}, or the first for a quick check)
     * @throws IllegalStateException with a reason fit for {@code probe()} when no kernels can be had
     */
    public static Plan plan(int computeCapability, Mode mode, String nvrtcLibrary, List<String> modules) {
        Optional<Integer> packaged = packagedFor(computeCapability);
        if (mode != Mode.NVRTC && packaged.isPresent()) {
            int arch = packaged.get();
            Map<String, String> ptx = new LinkedHashMap<>();
            for (String m : modules) {
                ptx.put(m, resource(PTX_ROOT + "sm_" + arch + "/" + m + ".ptx"));
            }
            return new Plan(Source.PACKAGED, arch, "nvcc " + packagedCompiler().orElse("?"), ptx);
        }
        if (mode == Mode.PTX) {
            throw new IllegalStateException(packagedArchitectures().isEmpty()
                    ? "no packaged PTX (this build had no nvcc) and based4j.cuda.kernels=ptx forbids NVRTC"
                    : "no packaged PTX for compute capability " + ccText(computeCapability) + " (packaged: "
                            + archText() + ") and based4j.cuda.kernels=ptx forbids NVRTC");
        }
        Nvrtc nvrtc;
        try {
            nvrtc = Nvrtc.load(nvrtcLibrary);
        } catch (RuntimeException e) {
            String why = mode == Mode.NVRTC
                    ? "based4j.cuda.kernels=nvrtc but " + e.getMessage()
                    : (packagedArchitectures().isEmpty()
                            ? "no packaged PTX (this build had no nvcc)"
                            : "no packaged PTX for compute capability " + ccText(computeCapability) + " (packaged: "
                                    + archText() + ")")
                            + " and " + e.getMessage();
            throw new IllegalStateException(why, e);
        }
        int[] v = nvrtc.version();
        String compiler = "NVRTC " + v[0] + "." + v[1];
        Map<String, String> compiled = COMPILED.computeIfAbsent(compiler + "/" + computeCapability,
                key -> new ConcurrentHashMap<>());
        Map<String, String> ptx = new LinkedHashMap<>();
        for (String m : modules) {
            ptx.put(m, compiled.computeIfAbsent(m, name -> compile(nvrtc, name, computeCapability)));
        }
        return new Plan(Source.NVRTC, computeCapability, compiler, ptx);
    }

    static String compile(Nvrtc nvrtc, String module, int computeCapability) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h : HEADERS) {
            headers.put(h, resource(SOURCE_ROOT + h));
        }
        return nvrtc.compile(resource(SOURCE_ROOT + module + ".cu"), module + ".cu", headers,
                List.of("--gpu-architecture=compute_" + computeCapability, "--std=c++17"));
    }

    /** @return the text of a class-path resource of this module */
    static String resource(String path) {
        try (InputStream in = KernelImages.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("resource " + path + " is missing from the based4j CUDA backend jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + path, e);
        }
    }

    /** @return the CUDA source text of {@code module} (for tools and tests) */
    public static String source(String module) {
        return resource(SOURCE_ROOT + module + ".cu");
    }

    /** @return {@code 9.0} for compute capability 90 */
    public static String ccText(int cc) {
        return cc / 10 + "." + cc % 10;
    }

    private static String archText() {
        return String.join(", ", packagedArchitectures().stream().map(a -> "sm_" + a).toList());
    }
}
