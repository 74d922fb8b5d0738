package dev.based4j.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.Availability;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Probing and using the OpenCL backend leaves the JVM as it was: integer division by zero still throws
 * {@link ArithmeticException} (interpreted and compiled), a null dereference still throws, and no signal handler
 * differs from the JVM's. PoCL installs a {@code SIGFPE} handler that makes an interpreted {@code x / 0} return a
 * value, and its compiler LLVM installs handlers for fifteen signals; both happen once per process, so each check runs
 * {@link ProcessIntegrityMain} in a fresh JVM of its own.
 */
class ProcessIntegrityTest {
    private static final long TIMEOUT_SECONDS = 300;

    /** The output of the child with the JIT on, shared by the tests that read it (one child JVM is enough). */
    private static String withJit;

    private static synchronized String withJit() throws Exception {
        if (withJit == null) {
            withJit = run();
        }
        return withJit;
    }

    private static String run(String... jvmOptions) throws Exception {
        Availability a = new OpenClBackendProvider().probe();
        assumeTrue(a.usable(), () -> "no usable OpenCL device: " + a.reason());
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx512m", "-cp", classPath(), ProcessIntegrityMain.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        // the child must find what based4j does by itself: no backend named, PoCL's variable not set by the user
        env.remove("BASED4J_BACKEND");
        env.remove("POCL_SIGFPE_HANDLER");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        assertThat(p.exitValue()).as("exit status of %s%n%s", command, out).isZero();
        return out;
    }

    /** The test's class and module paths as one class path: the child finds every provider through META-INF. */
    private static String classPath() {
        return Stream.of(System.getProperty("jdk.module.path", ""), System.getProperty("java.class.path", ""))
                .filter(s -> !s.isBlank()).reduce((x, y) -> x + File.pathSeparator + y).orElseThrow();
    }

    @Test
    void divisionByZeroStillThrowsInCompiledAndInterpretedCodeAfterProbingAndUsingOpenCl() throws Exception {
        assertThat(withJit()).contains("PASS after Backends.list() probed every backend",
                "PASS after creating, using and closing an opencl backend", "ALL PASSED");
    }

    @Test
    void divisionByZeroStillThrowsInTheInterpreterOnlyJvm() throws Exception {
        assertThat(run("-Xint")).contains("PASS after Backends.list() probed every backend",
                "PASS after creating, using and closing an opencl backend", "ALL PASSED");
    }

    @Test
    void choosingTheDefaultBackendDoesNotLoadOpenCl() throws Exception {
        assertThat(withJit()).contains("PASS after Backends.select()").doesNotContain("loaded OpenCL");
    }
}
