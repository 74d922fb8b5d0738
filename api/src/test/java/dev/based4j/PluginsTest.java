package dev.based4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading backend plugins from jars at run time: what loads, and how each jar that does not is reported. */
class PluginsTest {
    /** A provider a test jar names; it never creates anything. */
    public static final class FirstProvider implements BackendProvider {
        @Override
        public String name() {
            return "plugins-test-first";
        }

        @Override
        public Availability probe() {
            return Availability.unusable("test double", "none");
        }

        @Override
        public Engine<?> create() {
            throw new IllegalStateException("test double");
        }
    }

    /** Another provider, for the test of folders and name clashes. */
    public static final class SecondProvider implements BackendProvider {
        @Override
        public String name() {
            return "plugins-test-second";
        }

        @Override
        public Availability probe() {
            return Availability.unusable("test double", "none");
        }

        @Override
        public Engine<?> create() {
            throw new IllegalStateException("test double");
        }
    }

    /** A provider whose constructor fails, as a plugin missing a dependency would. */
    public static final class BrokenProvider implements BackendProvider {
        public BrokenProvider() {
            throw new NoClassDefFoundError("org/example/Missing");
        }

        @Override
        public String name() {
            return "plugins-test-broken";
        }

        @Override
        public Availability probe() {
            return Availability.unusable("test double", "none");
        }

        @Override
        public Engine<?> create() {
            throw new IllegalStateException("test double");
        }
    }

    private static Path jar(Path dir, String name, String... providers) throws IOException {
        Path jar = dir.resolve(name);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("META-INF/services/" + BackendProvider.class.getName()));
            out.write(("# providers of a test plugin\n" + String.join("\n", providers) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        return jar;
    }

    @Test
    void aPluginsProvidersJoinTheBuiltInOnesAndEachBadJarIsReportedWithItsReason(@TempDir Path dir) throws IOException {
        Path good = jar(dir, "good.jar", FirstProvider.class.getName());
        Path missing = jar(dir, "missing.jar", "org.example.NoSuchProvider");
        Path broken = jar(dir, "broken.jar", BrokenProvider.class.getName());
        Path notJar = dir.resolve("notes.jar");
        Files.writeString(notJar, "not a zip");
        Path text = dir.resolve("readme.txt");
        Files.writeString(text, "hello");

        Plugins.Report r = Plugins.load(List.of(good, missing, broken, notJar, text, dir.resolve("absent.jar")));

        assertThat(r.providers()).containsExactly("plugins-test-first");
        assertThat(Backends.provider("plugins-test-first")).isPresent();
        assertThat(Backends.list()).filteredOn(s -> s.name().equals("plugins-test-first")).singleElement()
                .satisfies(s -> assertThat(s.availability().reason()).isEqualTo("test double"));
        assertThat(r.failures()).extracting(f -> f.jar().getFileName().toString() + ": " + f.reason())
                .anySatisfy(m -> assertThat(m).startsWith("missing.jar: provider org.example.NoSuchProvider failed to load"))
                .anySatisfy(m -> assertThat(m).startsWith("broken.jar: provider " + BrokenProvider.class.getName())
                        .contains("org/example/Missing"))
                .anySatisfy(m -> assertThat(m).startsWith("notes.jar: not a readable jar"))
                .anySatisfy(m -> assertThat(m).isEqualTo("readme.txt: not a .jar file"))
                .anySatisfy(m -> assertThat(m).isEqualTo("absent.jar: no such file or folder"))
                .hasSize(5);
    }

    @Test
    void aFolderLoadsItsJarsAndASecondBackendOfTheSameNameIsRefused(@TempDir Path dir) throws IOException {
        Path folder = Files.createDirectory(dir.resolve("plugins"));
        jar(folder, "a.jar", SecondProvider.class.getName());
        Plugins.load(List.of(folder));
        Path again = jar(dir, "again.jar", SecondProvider.class.getName());

        Plugins.Report r = Plugins.load(List.of(again));

        assertThat(r.providers()).isEmpty();
        assertThat(r.failures()).singleElement().satisfies(f -> assertThat(f.reason())
                .startsWith("a backend named 'plugins-test-second' is already loaded from"));
        assertThat(Backends.providers()).filteredOn(p -> p.name().equals("plugins-test-second")).hasSize(1);
    }

    @Test
    void pathsSplitAtThePlatformsSeparator() {
        String sep = java.io.File.pathSeparator;
        assertThat(Plugins.split("a.jar" + sep + " " + sep + "lib/ ")).containsExactly(Path.of("a.jar"), Path.of("lib"));
        assertThat(Plugins.split("")).isEmpty();
    }
}
