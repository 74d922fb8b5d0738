package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend is found through {@link java.util.ServiceLoader} both on the class path (META-INF/services)
 * and on the module path ({@code provides} in module-info): runs the packaged command line in a fresh JVM each
 * way. Runs after {@code package}, on the jars the launcher uses.
 */
class ServiceDiscoveryIT {
    private static final Path TARGET = Path.of("target");

    private static Path examplesJar() throws IOException {
        try (Stream<Path> s = Files.list(TARGET)) {
            return s.filter(p -> p.getFileName().toString().matches("based4j-examples-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("run after package: no examples jar in target/"));
        }
    }

    private static List<Path> libraries() throws IOException {
        try (Stream<Path> s = Files.list(TARGET.resolve("lib"))) {
            return s.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        }
    }

    private static String run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("process finished").isTrue();
        assertThat(p.exitValue()).as("exit status of %s%n%s", command, out).isZero();
        return out;
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    @Test
    void findsTheCpuBackendOnTheClassPath() throws Exception {
        List<String> cp = new ArrayList<>();
        cp.add(examplesJar().toString());
        libraries().forEach(p -> cp.add(p.toString()));
        String out = run(List.of(java(), "--add-modules", "jdk.incubator.vector", "-cp", String.join(File.pathSeparator, cp),
                "dev.based4j.examples.Based4j", "info"));
        assertThat(out).containsPattern("cpu\\s+priority \\d+\\s+usable");
    }

    @Test
    void findsTheCpuBackendOnTheModulePath() throws Exception {
        List<String> mp = new ArrayList<>();
        mp.add(examplesJar().toString());
        libraries().forEach(p -> mp.add(p.toString()));
        String out = run(List.of(java(), "--add-modules", "jdk.incubator.vector", "-p", String.join(File.pathSeparator, mp),
                "-m", "dev.based4j.examples/dev.based4j.examples.Based4j", "info"));
        assertThat(out).containsPattern("cpu\\s+priority \\d+\\s+usable");
    }

    /**
     * Every jar the launcher ships resolved as a module ({@code --add-modules ALL-MODULE-PATH}), as jlink and
     * application servers resolve them: a shipped module whose own requirements are not shipped stops the JVM at
     * boot with a {@code FindException} before based4j runs.
     */
    @Test
    void startsWithEveryShippedJarResolvedOnTheModulePath() throws Exception {
        List<String> mp = new ArrayList<>();
        mp.add(examplesJar().toString());
        libraries().forEach(p -> mp.add(p.toString()));
        String out = run(List.of(java(), "--add-modules", "jdk.incubator.vector,ALL-MODULE-PATH", "-p",
                String.join(File.pathSeparator, mp), "-m", "dev.based4j.examples/dev.based4j.examples.Based4j", "info"));
        assertThat(out).doesNotContain("FindException").containsPattern("cpu\\s+priority \\d+\\s+usable");
    }
}
