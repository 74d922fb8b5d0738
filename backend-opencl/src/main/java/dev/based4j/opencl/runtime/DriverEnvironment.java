package dev.based4j.opencl.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Prepares the process environment before an OpenCL driver is loaded, so that loading one does not change how the
 * JVM works.
 *
 * <p>PoCL (OpenCL on the CPU) installs its own {@code SIGFPE} handler when it initialises its devices, to step over
 * integer divisions by zero in kernels, and with it LLVM's handlers for fourteen more signals ({@code SIGSEGV},
 * {@code SIGBUS}, {@code SIGILL}, {@code SIGTERM}, ...), all over the JVM's. The JVM takes these signals itself: it
 * turns an integer division by zero into {@link ArithmeticException} through {@code SIGFPE}. With PoCL's handler in
 * place, an interpreted {@code x / 0} steps over the division and returns a value instead of throwing, for the rest
 * of the process. PoCL reads {@code POCL_SIGFPE_HANDLER} from the C environment when it initialises; {@code 0} keeps
 * all of these handlers out at that point. This class sets it, through libc's {@code setenv}, before the ICD loader
 * is opened, unless the variable is already set (a user who sets it keeps their choice, and is warned once when it
 * lets PoCL's handler in). LLVM's handlers still come with the first kernel compiled; {@link JvmSignalHandlers} puts
 * the JVM's back.
 */
public final class DriverEnvironment {
    private DriverEnvironment() {}

    /** PoCL's switch for its {@code SIGFPE} handler (default on). */
    public static final String POCL_SIGFPE_HANDLER = "POCL_SIGFPE_HANDLER";

    private static Optional<String> outcome;

    /**
     * Sets {@code POCL_SIGFPE_HANDLER=0} in the process environment unless it is set already; runs once per process.
     * Must run before the OpenCL library is loaded: PoCL reads the variable when it initialises.
     *
     * <p>{@code setenv} is not safe against a concurrent {@code getenv} in native code on another thread; it runs
     * once, before the driver (the only reader of this variable) is loaded, which keeps that window to one call.
     *
     * @return empty when the environment is prepared (or the platform needs nothing), else why it could not be
     */
    public static synchronized Optional<String> prepare() {
        if (outcome == null) {
            outcome = doPrepare();
        }
        return outcome;
    }

    private static Optional<String> doPrepare() {
        if (poclHandlerRequested()) {
            System.getLogger("dev.based4j.opencl").log(System.Logger.Level.WARNING, POCL_SIGFPE_HANDLER + "="
                    + System.getenv(POCL_SIGFPE_HANDLER) + " is set: PoCL will install its SIGFPE handler, and from"
                    + " then on interpreted Java code that divides an int by zero gets a value instead of an"
                    + " ArithmeticException. Unset it, or set it to 0, unless this process needs PoCL's handler.");
            return Optional.empty();
        }
        String os = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT);
        if (os.startsWith("windows")) {
            // PoCL's signal handler exists only where POSIX signals do
            return Optional.empty();
        }
        try {
            Linker linker = Linker.nativeLinker();
            MemorySegment setenv = linker.defaultLookup().find("setenv").orElse(null);
            if (setenv == null) {
                return Optional.of("libc's setenv was not found, so " + POCL_SIGFPE_HANDLER + "=0 could not be set");
            }
            MethodHandle h = linker.downcallHandle(setenv, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            try (Arena arena = Arena.ofConfined()) {
                // overwrite = 0: a value already in the environment (the user's) stays
                int rc = (int) h.invokeExact(arena.allocateFrom(POCL_SIGFPE_HANDLER), arena.allocateFrom("0"), 0);
                return rc == 0 ? Optional.empty()
                        : Optional.of("setenv(" + POCL_SIGFPE_HANDLER + ", 0) failed with " + rc);
            }
        } catch (IllegalCallerException e) {
            return Optional.of("native access is not enabled for module "
                    + DriverEnvironment.class.getModule().getName() + ", so " + POCL_SIGFPE_HANDLER
                    + "=0 could not be set before loading OpenCL (" + e.getMessage() + ")");
        } catch (Throwable e) {
            return Optional.of("setting " + POCL_SIGFPE_HANDLER + "=0 before loading OpenCL failed: " + e);
        }
    }

    /**
     * @return whether the user set {@code POCL_SIGFPE_HANDLER} to something other than {@code 0} before starting the
     *     JVM: then PoCL's {@code SIGFPE} handler is theirs to keep
     */
    public static boolean poclHandlerRequested() {
        String v = System.getenv(POCL_SIGFPE_HANDLER);
        return v != null && !v.strip().equals("0");
    }

    /** @return the fix for a failure of {@link #prepare()} */
    public static String fix() {
        return "export " + POCL_SIGFPE_HANDLER + "=0 before starting the JVM, or run with --enable-native-access="
                + (DriverEnvironment.class.getModule().isNamed() ? DriverEnvironment.class.getModule().getName()
                        : "ALL-UNNAMED");
    }
}
