package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The plugin template (built just before by the invoker, against the installed artifacts only) loaded by the command
 * line as a plugin author would load it: {@code BASED4J_PLUGINS=their.jar ./based4j conformance --backend heap},
 * the {@code --plugins} option, and a broken jar beside it.
 */
class PluginTemplateIT {
    private static final Path TARGET = Path.of("target").toAbsolutePath();
    private static final Path ROOT = TARGET.getParent().getParent();

    private static Path pluginJar() throws IOException {
        Path dir = TARGET.resolve("it/plugin-template/target");
        assumeTrue(Files.isDirectory(dir), "the plugin template was not built (tests skipped, or the invoker skipped)");
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("based4j-backend-heap-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no plugin jar in " + dir));
        }
    }

    private record Run(int exit, String output) {}

    private static Run run(List<String> command, Map<String, String> env) throws Exception {
        ProcessBuilder b = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true);
        b.environment().remove("BASED4J_PLUGINS");
        b.environment().remove("BASED4J_BACKEND");
        b.environment().put("JAVA_HOME", System.getProperty("java.home"));
        // no warm-start cache: its training run would take most of the test's time and test nothing here
        b.environment().put("BASED4J_AOT", "0");
        b.environment().putAll(env);
        Process p = b.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).as("process finished").isTrue();
        return new Run(p.exitValue(), out);
    }

    /** The launcher, told the build it would run is already done (this build packaged the jars it uses). */
    private static List<String> launcher(String... args) throws IOException {
        Files.writeString(TARGET.resolve(".based4j-built"), "");
        List<String> c = new ArrayList<>();
        c.add(ROOT.resolve("based4j").toString());
        c.addAll(List.of(args));
        return c;
    }

    @Test
    void theLauncherRunsTheConformanceSuiteOnAPluginNamedInBased4jPlugins() throws Exception {
        Path jar = pluginJar();
        Path report = TARGET.resolve("heap-conformance.xml");
        Files.deleteIfExists(report);
        Run r = run(launcher("conformance", "--backend", "heap", "--junit-xml", report.toString()),
                Map.of("BASED4J_PLUGINS", jar.toString()));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("== heap: ").containsPattern("\\d+ passed, 0 failed, \\d+ skipped")
                .contains("does not supply the kernel family plumbing");
        assertThat(Files.readString(report)).contains("based4j conformance on heap").contains("<skipped");
    }

    @Test
    void infoShowsWhereThePluginCameFromAndABrokenJarBesideItIsReported() throws Exception {
        Path jar = pluginJar();
        Path broken = Files.writeString(TARGET.resolve("broken-plugin.jar"), "not a jar");
        Run r = run(launcher("info", "--plugins", broken + File.pathSeparator + jar), Map.of());
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).containsPattern("heap\\s+priority 0\\s+usable")
                .contains("from:       class path, " + jar)
                .contains("plugin " + broken + " not loaded: not a readable jar")
                .containsPattern("cpu\\s+priority 100\\s+usable");
    }
}
