package dev.based4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime starts in a JVM whose command line is tens of kilobytes long (a plugin author's Maven class path):
 * with its telemetry on, it used to overflow a native stack reading that command line and kill the JVM with no crash
 * report. Runs {@link LongCommandLineMain} in a fresh JVM, as the crash happens once per process.
 */
class LongCommandLineTest {
    @Test
    void onnxRuntimeStartsAndRunsWhenTheCommandLineIsTensOfKilobytesLong() throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("-Dbased4j.test.padding=" + "x".repeat(40_000));
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Xmx512m", "-cp", classPath(), LongCommandLineMain.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("ORT_DISABLE_TELEMETRY");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        assertThat(p.exitValue()).as("exit status (139 = SIGSEGV)%n%s", out).isZero();
        assertThat(out).contains("onnx probe: usable").contains("silu ran: [0.731");
    }

    private static String classPath() {
        return Stream.of(System.getProperty("jdk.module.path", ""), System.getProperty("java.class.path", ""))
                .filter(s -> !s.isBlank()).reduce((x, y) -> x + File.pathSeparator + y).orElseThrow();
    }
}
