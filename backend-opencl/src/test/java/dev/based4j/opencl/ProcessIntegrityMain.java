package dev.based4j.opencl;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Run in a child JVM of its own by {@link ProcessIntegrityTest} (a process that has never loaded OpenCL): checks that
 * the JVM still turns integer division by zero into {@link ArithmeticException} and a null dereference into
 * {@link NullPointerException}, and that no signal handler changed, after each of: choosing the default backend,
 * probing every backend, and creating, using and closing an OpenCL backend. Prints one {@code PASS} line per stage
 * and exits with status 0, or prints {@code FAIL} with what differed and exits with status 1.
 */
public final class ProcessIntegrityMain {
    private ProcessIntegrityMain() {}

    /** Rounds of the division loop: enough for the JIT to compile it, when the JIT is on. */
    private static final int ROUNDS = 40;
    private static final int DIVISIONS_PER_ROUND = 5_000;

    /** Read from a field so that no compiler folds the division away. */
    private static volatile int zero = 0;
    private static volatile Object nothing = null;
    /** Where results go, so that no compiler drops the operation that produced them. */
    private static volatile long sink;

    public static void main(String[] args) throws Throwable {
        long[] before = handlers();
        List<String> failures = new ArrayList<>();
        stage("before any backend", before, failures);

        try (Backend chosen = Backends.select()) {
            if (!chosen.name().equals("cpu")) {
                failures.add("Backends.select() chose " + chosen.name() + ", expected cpu");
            }
        }
        List<String> mapped = openClLibrariesMapped();
        if (!mapped.isEmpty()) {
            failures.add("Backends.select() loaded OpenCL although it chose cpu: " + mapped);
        }
        stage("after Backends.select()", before, failures);

        Backends.list();
        stage("after Backends.list() probed every backend", before, failures);

        try (Backend b = Backends.select(OpenClBackendProvider.NAME)) {
            use(b);
        }
        stage("after creating, using and closing an opencl backend", before, failures);

        if (!failures.isEmpty()) {
            failures.forEach(f -> System.out.println("FAIL " + f));
            System.exit(1);
        }
        System.out.println("ALL PASSED");
    }

    private static void stage(String name, long[] before, List<String> failures) throws Throwable {
        int failed = failures.size();
        long[] now = handlers();
        List<Integer> changed = new ArrayList<>();
        for (int sig = 1; sig < now.length; sig++) {
            if (now[sig] != before[sig]) {
                changed.add(sig);
            }
        }
        if (!changed.isEmpty()) {
            failures.add(name + ": the handlers of signals " + changed + " changed");
        }
        long quiet = divisionsThatDidNotThrow();
        if (quiet != 0) {
            failures.add(name + ": " + quiet + " of " + (4L * ROUNDS * DIVISIONS_PER_ROUND)
                    + " integer divisions by zero returned a value instead of throwing ArithmeticException");
        }
        long silent = nullDereferencesThatDidNotThrow();
        if (silent != 0) {
            failures.add(name + ": " + silent + " null dereferences did not throw NullPointerException");
        }
        if (failures.size() == failed) {
            System.out.println("PASS " + name);
        }
    }

    /** int and long, {@code /} and {@code %}: the interpreter and the compilers divide through the same signal. */
    private static long divisionsThatDidNotThrow() {
        long quiet = 0;
        for (int round = 0; round < ROUNDS; round++) {
            quiet += intDivisions(DIVISIONS_PER_ROUND) + longDivisions(DIVISIONS_PER_ROUND);
        }
        return quiet;
    }

    private static long intDivisions(int n) {
        long quiet = 0;
        for (int i = 1; i <= n; i++) {
            try {
                sink = i / zero;
                quiet++;
            } catch (ArithmeticException expected) {
                // what the JVM must do
            }
            try {
                sink = i % zero;
                quiet++;
            } catch (ArithmeticException expected) {
                // what the JVM must do
            }
        }
        return quiet;
    }

    private static long longDivisions(int n) {
        long quiet = 0;
        for (long i = 1; i <= n; i++) {
            try {
                sink = i / zero;
                quiet++;
            } catch (ArithmeticException expected) {
                // what the JVM must do
            }
            try {
                sink = i % (long) zero;
                quiet++;
            } catch (ArithmeticException expected) {
                // what the JVM must do
            }
        }
        return quiet;
    }

    private static long nullDereferencesThatDidNotThrow() {
        long silent = 0;
        for (int i = 0; i < 1_000; i++) {
            try {
                sink = nothing.hashCode();
                silent++;
            } catch (NullPointerException expected) {
                // what the JVM must do
            }
        }
        return silent;
    }

    /** A kernel of three families: builds several programs, which is when an OpenCL compiler loads. */
    private static void use(Backend b) {
        Random r = new Random(7);
        double[] x = new double[2 * 3 * 5 * 4];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian();
        }
        Taylor map = new Taylor(4);
        try (Tensor q = b.upload(HostTensor.of(x, Shape.of(2, 3, 5, 4), DType.F32));
                Tensor silu = b.silu(q);
                LinearAttentionState state = LinearAttentionState.zeros(b, 2, 3, map.outputDim(), 4, DType.F32);
                Tensor out = b.linearAttentionPrefill(LinearAttentionSpec.of(map), q, q, silu, state)) {
            b.synchronize();
            double[] y = b.download(out).toDoubleArray();
            if (y.length != x.length || Double.isNaN(y[0])) {
                throw new IllegalStateException("the opencl backend computed nothing usable: " + y.length);
            }
        }
    }

    /** The libraries of an OpenCL driver this process has mapped ({@code /proc/self/maps}; empty elsewhere). */
    private static List<String> openClLibrariesMapped() throws IOException {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return List.of();
        }
        return Files.readAllLines(maps).stream().filter(l -> l.contains("libOpenCL") || l.contains("libpocl"))
                .map(l -> l.substring(l.lastIndexOf(' ') + 1)).distinct().toList();
    }

    /** The address of the handler of signals 1..31, as {@code sigaction} reports it. */
    private static long[] handlers() throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle sigaction = linker.downcallHandle(linker.defaultLookup().find("sigaction").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS));
        long[] out = new long[32];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment old = arena.allocate(256, 16);
            for (int sig = 1; sig < out.length; sig++) {
                int rc = (int) sigaction.invokeExact(sig, MemorySegment.NULL, old);
                out[sig] = rc == 0 ? old.get(ValueLayout.JAVA_LONG, 0) : -1;
            }
        }
        return out;
    }
}
