package dev.based4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * The one way this module reaches ONNX Runtime's environment: the process is prepared first.
 *
 * <p>ONNX Runtime's telemetry, on by default on Linux, reads the process's command line when the environment is
 * created and runs a regular expression over it that recurses once per character: a command line of a few kilobytes
 * (a long class path, as a Maven build of a plugin makes) overflows the thread's stack inside the native library and
 * the JVM dies with {@code SIGSEGV} and no crash report. {@code ORT_DISABLE_TELEMETRY=1} turns that off; ONNX Runtime
 * reads it from the C environment, so it is set through libc's {@code setenv} before the environment is first
 * created, unless the user set it.
 */
final class OnnxRuntimeEnvironment {
    private OnnxRuntimeEnvironment() {}

    /** ONNX Runtime's switch for its telemetry. */
    static final String DISABLE_TELEMETRY = "ORT_DISABLE_TELEMETRY";

    private static boolean prepared;

    /** @return ONNX Runtime's environment, created once per process after the process is prepared */
    static synchronized OrtEnvironment get() {
        if (!prepared) {
            prepared = true;
            disableTelemetry();
        }
        return OrtEnvironment.getEnvironment();
    }

    private static void disableTelemetry() {
        if (System.getenv(DISABLE_TELEMETRY) != null
                || System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows")) {
            return;
        }
        try {
            Linker linker = Linker.nativeLinker();
            MemorySegment setenv = linker.defaultLookup().find("setenv").orElse(null);
            if (setenv == null) {
                warn("libc's setenv was not found");
                return;
            }
            MethodHandle h = linker.downcallHandle(setenv, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            try (Arena arena = Arena.ofConfined()) {
                int rc = (int) h.invokeExact(arena.allocateFrom(DISABLE_TELEMETRY), arena.allocateFrom("1"), 0);
                if (rc != 0) {
                    warn("setenv returned " + rc);
                }
            }
        } catch (IllegalCallerException e) {
            warn("native access is not enabled for " + OnnxRuntimeEnvironment.class.getModule()
                    + " (--enable-native-access)");
        } catch (Throwable e) {
            warn(e.toString());
        }
    }

    private static void warn(String why) {
        System.getLogger("dev.based4j.onnx").log(System.Logger.Level.WARNING, DISABLE_TELEMETRY + "=1 could not be"
                + " set (" + why + "): with ONNX Runtime's telemetry on, a command line of several kilobytes can"
                + " crash the JVM when ONNX Runtime starts. Set " + DISABLE_TELEMETRY + "=1 in the environment.");
    }
}
