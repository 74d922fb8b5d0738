package dev.based4j.opencl.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM's signal handlers, recorded before an OpenCL driver is loaded and put back when the driver replaced them.
 *
 * <p>PoCL compiles kernels with LLVM, and LLVM installs, with the first program built, its own handlers for
 * {@code SIGSEGV}, {@code SIGBUS}, {@code SIGILL}, {@code SIGFPE}, {@code SIGQUIT}, {@code SIGTERM}, {@code SIGUSR2} and eight
 * more, over the JVM's: the handlers through which the JVM turns a null dereference into {@link NullPointerException},
 * a division by zero into {@link ArithmeticException}, takes thread dumps and writes its crash report. LLVM's handler
 * puts the previous handlers back when a signal arrives and lets the signal happen again, so most signals still reach
 * the JVM, but not all of them (a {@code SIGQUIT} is swallowed once); it is installed with {@code SA_RESETHAND}, so a
 * second thread that faults before it has put the JVM's back (compiled Java code reaches a safepoint by faulting on a
 * protected page, several threads at once) meets the default action and the process dies without a crash report; and
 * {@code -Xcheck:jni} reports the handlers as modified. LLVM installs them once per process while it believes they are
 * in place, so putting the JVM's back after the calls that may compile is enough to keep them.
 *
 * <p>{@link #record()} runs once, before the ICD loader is opened; {@link #restore} after every call into OpenCL
 * that may have compiled (device enumeration, program builds, launches, waits). PoCL's own {@code SIGFPE} handler is
 * left in place only when the user asked for it ({@code POCL_SIGFPE_HANDLER} set to anything but 0). Both are no-ops
 * where the C library offers no {@code sigaction} or native access is denied.
 */
public final class JvmSignalHandlers {
    private JvmSignalHandlers() {}

    /** Signals 1..31, the classic POSIX signals: LLVM and the JVM's fault handling use no real-time signal. */
    private static final int LAST_SIGNAL = 31;
    /** Room for {@code struct sigaction} on every supported platform (152 bytes on Linux x86-64 and AArch64). */
    private static final long SIGACTION_BYTES = 256;
    /** The signal LLVM registers with all the others: checking it alone says whether the handlers were replaced. */
    private static final int SIGSEGV = 11;
    private static final int SIGFPE = 8;

    private static final System.Logger LOG = System.getLogger("dev.based4j.opencl");

    private static volatile MethodHandle sigaction;
    private static MemorySegment recorded;
    private static MemorySegment scratch;

    /**
     * Records the handlers of signals 1..31 as they are now (the JVM's). Runs once; later calls do nothing.
     *
     * @return whether they were recorded (false where {@code sigaction} cannot be called)
     */
    public static synchronized boolean record() {
        if (recorded != null) {
            return true;
        }
        if (System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows")) {
            return false;
        }
        try {
            Linker linker = Linker.nativeLinker();
            MemorySegment address = linker.defaultLookup().find("sigaction").orElse(null);
            if (address == null) {
                return false;
            }
            MethodHandle h = linker.downcallHandle(address, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            MemorySegment all = Arena.global().allocate(SIGACTION_BYTES * (LAST_SIGNAL + 1), 16);
            for (int sig = 1; sig <= LAST_SIGNAL; sig++) {
                int rc = (int) h.invokeExact(sig, MemorySegment.NULL, slot(all, sig));
                if (rc != 0) {
                    return false;
                }
            }
            scratch = Arena.global().allocate(SIGACTION_BYTES, 16);
            recorded = all;
            sigaction = h;
            return true;
        } catch (Throwable e) {
            LOG.log(System.Logger.Level.DEBUG, "the JVM's signal handlers could not be recorded", e);
            return false;
        }
    }

    /**
     * Puts the recorded handlers back if a handler was replaced since {@link #record()}. Cheap when nothing changed
     * (one {@code sigaction} call).
     *
     * @param after the OpenCL call just made, for the log
     * @return the signals whose handler was put back (empty when nothing had changed)
     */
    public static List<Integer> restore(String after) {
        MethodHandle h = sigaction;
        if (h == null) {
            return List.of();
        }
        synchronized (JvmSignalHandlers.class) {
            try {
                if (handlerOf(h, SIGSEGV) == slot(recorded, SIGSEGV).get(ValueLayout.JAVA_LONG, 0)) {
                    return List.of();
                }
                List<Integer> restored = new ArrayList<>();
                for (int sig = 1; sig <= LAST_SIGNAL; sig++) {
                    if (sig == SIGFPE && DriverEnvironment.poclHandlerRequested()) {
                        continue;
                    }
                    MemorySegment saved = slot(recorded, sig);
                    if (handlerOf(h, sig) != saved.get(ValueLayout.JAVA_LONG, 0)) {
                        int rc = (int) h.invokeExact(sig, saved, MemorySegment.NULL);
                        if (rc == 0) {
                            restored.add(sig);
                        }
                    }
                }
                LOG.log(System.Logger.Level.DEBUG, () -> "the OpenCL driver replaced the JVM's handlers of signals "
                        + restored + " during " + after + "; the JVM's are back");
                return restored;
            } catch (Throwable e) {
                LOG.log(System.Logger.Level.DEBUG, "the JVM's signal handlers could not be checked", e);
                return List.of();
            }
        }
    }

    private static long handlerOf(MethodHandle h, int sig) throws Throwable {
        int rc = (int) h.invokeExact(sig, MemorySegment.NULL, scratch);
        // sa_handler / sa_sigaction is the first field of struct sigaction on Linux and macOS
        return rc == 0 ? scratch.get(ValueLayout.JAVA_LONG, 0) : 0;
    }

    private static MemorySegment slot(MemorySegment all, int sig) {
        return all.asSlice(SIGACTION_BYTES * sig, SIGACTION_BYTES);
    }
}
