package dev.based4j.opencl.runtime;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.lwjgl.opencl.CL;
import org.lwjgl.system.Configuration;
import org.lwjgl.system.Library;
import org.lwjgl.system.Platform;

/**
 * Loads LWJGL and the OpenCL ICD loader once per JVM, and says why when it cannot.
 *
 * <p>Before any other LWJGL class is touched it selects LWJGL's FFM memory backend (no {@code sun.misc.Unsafe}
 * on JDK 25) unless the user chose one with {@code org.lwjgl.system.memoryBackend}. On Linux it asks for the
 * ICD loader by its SONAME {@code libOpenCL.so.1} (what Debian's {@code ocl-icd-libopencl1} installs; the
 * unversioned {@code libOpenCL.so} comes only with the -dev package) by setting LWJGL's
 * {@code org.lwjgl.opencl.libname}, and falls back to {@code libOpenCL.so}. A name the user set is used as is.
 *
 * <p>Before the ICD loader is opened, {@link DriverEnvironment#prepare()} keeps PoCL's signal handlers out of the
 * process; when it cannot, the library is not loaded at all (loading it would change how the JVM handles signals).
 * The JVM's signal handlers are recorded then ({@link JvmSignalHandlers}), so that they can be put back when the
 * driver's compiler replaces them.
 */
public final class ClLibrary {
    private ClLibrary() {}

    /** The fix printed when no ICD loader is found. */
    public static final String INSTALL_FIX = "apt-get install ocl-icd-libopencl1 pocl-opencl-icd (PoCL runs OpenCL on the"
            + " CPU), or install your GPU vendor's OpenCL driver; a loader elsewhere can be named with"
            + " -Dorg.lwjgl.opencl.libname=/path/to/libOpenCL.so.1";

    /**
     * Outcome of loading.
     *
     * @param loaded whether OpenCL functions can be called
     * @param libraryName the library that was loaded (when loaded)
     * @param reason why not (when not loaded)
     * @param fix what to do about it (when not loaded)
     */
    public record Status(boolean loaded, String libraryName, String reason, String fix) {}

    private static final ThreadLocal<ByteArrayOutputStream> CAPTURE = new ThreadLocal<>();
    private static Status status;

    /** @return the load status; loads on first call. Never throws. */
    public static synchronized Status load() {
        if (status == null) {
            try {
                status = doLoad();
            } catch (Throwable t) {
                status = new Status(false, "", "loading LWJGL's OpenCL binding failed: " + t,
                        "check that org.lwjgl:lwjgl, lwjgl-opencl and lwjgl natives-linux 3.4.x are on the class or module path");
            }
        }
        return status;
    }

    private static Status doLoad() {
        var environment = DriverEnvironment.prepare();
        if (environment.isPresent()) {
            return new Status(false, "", "OpenCL was not loaded: " + environment.get(), DriverEnvironment.fix());
        }
        JvmSignalHandlers.record();
        try {
            if (Configuration.MEMORY_BACKEND.get() == null) {
                Configuration.MEMORY_BACKEND.set("ffm");
            }
            if (Configuration.DEBUG_STREAM.get() == null) {
                // failed attempts of the fall-back below would print LWJGL's hints to stderr; keep them quiet
                Configuration.DEBUG_STREAM.set(new PrintStream(new QuietableStream(), true, StandardCharsets.UTF_8));
            }
            Configuration.OPENCL_EXPLICIT_INIT.set(true);
        } catch (LinkageError e) {
            return new Status(false, "", "LWJGL (org.lwjgl:lwjgl) is not on the class or module path: " + e,
                    "add org.lwjgl:lwjgl and org.lwjgl:lwjgl-opencl 3.4.x to the class or module path");
        }
        try {
            quietly(Library::initialize);
        } catch (Throwable e) {
            return new Status(false, "", "LWJGL's native library (liblwjgl) could not be loaded: " + rootMessage(e),
                    "add org.lwjgl:lwjgl:3.4.x:natives-linux (the natives of this platform) to the class or module path,"
                            + " and on the module path run with --enable-native-access=org.lwjgl");
        }
        if (alreadyCreated()) {
            return new Status(true, String.valueOf(Configuration.OPENCL_LIBRARY_NAME.get()), "", "");
        }
        String configured = Configuration.OPENCL_LIBRARY_NAME.get();
        List<String> candidates = new ArrayList<>();
        if (configured != null) {
            candidates.add(configured);
        } else if (Platform.get() == Platform.LINUX) {
            candidates.add("libOpenCL.so.1");
            candidates.add("libOpenCL.so");
        } else {
            candidates.add(null);
        }
        List<String> failures = new ArrayList<>();
        for (String name : candidates) {
            try {
                if (name != null) {
                    Configuration.OPENCL_LIBRARY_NAME.set(name);
                }
                quietly(CL::create);
                return new Status(true, name == null ? "OpenCL" : name, "", "");
            } catch (Throwable e) {
                failures.add(rootMessage(e));
            }
        }
        if (configured == null && Platform.get() == Platform.LINUX) {
            Configuration.OPENCL_LIBRARY_NAME.set(null);
        }
        String tried = candidates.stream().map(n -> n == null ? "OpenCL" : n).toList().toString();
        return new Status(false, "", "no OpenCL ICD loader found (tried " + tried + ": " + String.join("; ", failures) + ")",
                INSTALL_FIX);
    }

    private static boolean alreadyCreated() {
        try {
            return CL.getFunctionProvider() != null;
        } catch (IllegalStateException notYet) {
            return false;
        }
    }

    private static void quietly(Runnable action) {
        ByteArrayOutputStream previous = CAPTURE.get();
        CAPTURE.set(new ByteArrayOutputStream());
        try {
            action.run();
        } finally {
            CAPTURE.set(previous);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** LWJGL's debug output: to stderr, except while this class probes libraries on the current thread. */
    private static final class QuietableStream extends OutputStream {
        @Override
        public void write(int b) {
            ByteArrayOutputStream capture = CAPTURE.get();
            if (capture != null) {
                capture.write(b);
            } else {
                System.err.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ByteArrayOutputStream capture = CAPTURE.get();
            if (capture != null) {
                capture.write(b, off, len);
            } else {
                System.err.write(b, off, len);
            }
        }

        @Override
        public void flush() {
            if (CAPTURE.get() == null) {
                System.err.flush();
            }
        }
    }
}
