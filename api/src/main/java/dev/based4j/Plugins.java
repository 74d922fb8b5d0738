package dev.based4j;

import dev.based4j.spi.BackendProvider;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.module.Configuration;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Backend plugins loaded at run time from jars that are not on the class or module path, as the {@code based4j}
 * command line does for {@code --plugins} and {@link Settings#PLUGINS}. Each jar's providers become visible to
 * {@link Backends}: jars with a {@code module-info} in a module layer of their own when based4j itself runs on the
 * module path, every other jar on a class loader shared by the plugins (so a plugin may ship its dependencies as
 * further jars). A jar that cannot be loaded is reported with its reason; the others still load.
 */
public final class Plugins {
    private static final String SERVICE = "META-INF/services/" + BackendProvider.class.getName();
    private static final List<BackendProvider> LOADED = new CopyOnWriteArrayList<>();
    private static final Set<Path> SEEN = new LinkedHashSet<>();

    private Plugins() {}

    /** A jar, or a provider in it, that could not be loaded. */
    public record Failure(Path jar, String reason) {
        @Override
        public String toString() {
            return jar + ": " + reason;
        }
    }

    /**
     * What one {@link #load} did.
     *
     * @param jars the jars it considered (folders expanded)
     * @param providers the names of the providers it added
     * @param failures what could not be loaded, and why
     */
    public record Report(List<Path> jars, List<String> providers, List<Failure> failures) {}

    /** @return the providers loaded so far, in loading order */
    static List<BackendProvider> providers() {
        return List.copyOf(LOADED);
    }

    /**
     * @return the paths listed in {@link Settings#PLUGINS}, split at the platform's path separator
     */
    public static List<Path> configured() {
        return split(Settings.PLUGINS.value());
    }

    /** @return {@code paths} split at the platform's path separator, blanks dropped */
    public static List<Path> split(String paths) {
        if (paths == null || paths.isBlank()) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        for (String p : paths.split(java.io.File.pathSeparator)) {
            if (!p.isBlank()) {
                out.add(Path.of(p.strip()));
            }
        }
        return out;
    }

    /**
     * Loads every jar in {@code paths} (a jar, or a folder whose {@code *.jar} files are loaded in name order) that
     * was not loaded before. Never throws for a bad jar: it is in the report's failures with its reason.
     *
     * @throws IllegalArgumentException when {@code paths} is null
     */
    public static synchronized Report load(List<Path> paths) {
        if (paths == null) {
            throw new IllegalArgumentException("paths: expected a list of jars or folders, got null");
        }
        List<Failure> failures = new ArrayList<>();
        List<Path> jars = new ArrayList<>();
        for (Path p : paths) {
            expand(p, jars, failures);
        }
        jars.removeIf(j -> !SEEN.add(j));
        List<Path> modular = new ArrayList<>();
        List<Path> plain = new ArrayList<>();
        boolean onModulePath = Plugins.class.getModule().isNamed();
        for (Path jar : jars) {
            (onModulePath && isModular(jar) ? modular : plain).add(jar);
        }
        List<String> added = new ArrayList<>();
        loadFromClassPath(plain, added, failures);
        loadAsModules(modular, added, failures);
        return new Report(List.copyOf(jars), List.copyOf(added), List.copyOf(failures));
    }

    private static void expand(Path p, List<Path> jars, List<Failure> failures) {
        if (p == null) {
            return;
        }
        Path abs = p.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) {
            try (Stream<Path> s = Files.list(abs)) {
                s.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted()
                        .forEach(f -> expand(f, jars, failures));
            } catch (IOException e) {
                failures.add(new Failure(abs, "cannot list the folder: " + e.getMessage()));
            }
        } else if (!Files.exists(abs)) {
            failures.add(new Failure(abs, "no such file or folder"));
        } else if (!Files.isRegularFile(abs)) {
            failures.add(new Failure(abs, "not a regular file (a jar is expected)"));
        } else if (!abs.getFileName().toString().endsWith(".jar")) {
            failures.add(new Failure(abs, "not a .jar file"));
        } else {
            try (JarFile unused = new JarFile(abs.toFile())) {
                jars.add(abs);
            } catch (IOException | SecurityException e) {
                failures.add(new Failure(abs, "not a readable jar: " + e.getMessage()));
            }
        }
    }

    private static boolean isModular(Path jar) {
        try (JarFile f = new JarFile(jar.toFile())) {
            return f.getEntry("module-info.class") != null;
        } catch (IOException e) {
            return false;
        }
    }

    private static void loadFromClassPath(List<Path> jars, List<String> added, List<Failure> failures) {
        if (jars.isEmpty()) {
            return;
        }
        List<URL> urls = new ArrayList<>();
        for (Path j : jars) {
            try {
                urls.add(j.toUri().toURL());
            } catch (MalformedURLException e) {
                failures.add(new Failure(j, "cannot be turned into a URL: " + e.getMessage()));
            }
        }
        // never closed: the providers' classes live as long as the process
        URLClassLoader loader = new URLClassLoader("based4j-plugins", urls.toArray(URL[]::new),
                Plugins.class.getClassLoader());
        for (Path jar : jars) {
            for (String className : declaredProviders(jar, failures)) {
                try {
                    Class<?> c = Class.forName(className, true, loader);
                    if (!BackendProvider.class.isAssignableFrom(c)) {
                        failures.add(new Failure(jar, className + " does not implement " + BackendProvider.class.getName()));
                        continue;
                    }
                    register(jar, (BackendProvider) c.getConstructor().newInstance(), added, failures);
                } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                    Throwable cause = e instanceof java.lang.reflect.InvocationTargetException ite ? ite.getCause() : e;
                    failures.add(new Failure(jar, "provider " + className + " failed to load: " + cause));
                }
            }
        }
    }

    private static List<String> declaredProviders(Path jar, List<Failure> failures) {
        try (JarFile f = new JarFile(jar.toFile())) {
            var entry = f.getEntry(SERVICE);
            if (entry == null) {
                return List.of();
            }
            List<String> names = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(f.getInputStream(entry),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    int hash = line.indexOf('#');
                    String name = (hash >= 0 ? line.substring(0, hash) : line).strip();
                    if (!name.isEmpty()) {
                        names.add(name);
                    }
                }
            }
            return names;
        } catch (IOException e) {
            failures.add(new Failure(jar, "cannot read " + SERVICE + ": " + e.getMessage()));
            return List.of();
        }
    }

    private static void loadAsModules(List<Path> jars, List<String> added, List<Failure> failures) {
        if (jars.isEmpty()) {
            return;
        }
        ModuleLayer parent = Plugins.class.getModule().getLayer();
        if (parent == null) {
            parent = ModuleLayer.boot();
        }
        try {
            defineLayer(parent, jars, added, failures);
        } catch (RuntimeException | LinkageError together) {
            // one jar that cannot be resolved would sink the others: resolve each on its own to name the culprit
            for (Path jar : jars) {
                try {
                    defineLayer(parent, List.of(jar), added, failures);
                } catch (RuntimeException | LinkageError alone) {
                    failures.add(new Failure(jar, "cannot be loaded as a module: " + alone.getMessage()));
                }
            }
        }
    }

    private static void defineLayer(ModuleLayer parent, List<Path> jars, List<String> added, List<Failure> failures) {
        ModuleFinder finder = ModuleFinder.of(jars.toArray(Path[]::new));
        Set<String> roots = new LinkedHashSet<>();
        for (ModuleReference ref : finder.findAll()) {
            roots.add(ref.descriptor().name());
        }
        Configuration cf = parent.configuration().resolveAndBind(finder, ModuleFinder.of(), roots);
        ModuleLayer layer = parent.defineModulesWithOneLoader(cf, Plugins.class.getClassLoader());
        for (var provider : java.util.ServiceLoader.load(layer, BackendProvider.class).stream().toList()) {
            Module m = provider.type().getModule();
            if (m.getLayer() != layer) {
                continue;
            }
            Path jar = cf.findModule(m.getName()).flatMap(r -> r.reference().location()).map(Path::of).orElse(null);
            try {
                register(jar, provider.get(), added, failures);
            } catch (java.util.ServiceConfigurationError | RuntimeException | LinkageError e) {
                failures.add(new Failure(jar, "provider " + provider.type().getName() + " failed to load: " + e));
            }
        }
    }

    private static void register(Path jar, BackendProvider p, List<String> added, List<Failure> failures) {
        String name;
        try {
            name = p.name();
        } catch (RuntimeException | LinkageError e) {
            failures.add(new Failure(jar, p.getClass().getName() + ".name() failed: " + e));
            return;
        }
        if (name == null || name.isBlank()) {
            failures.add(new Failure(jar, p.getClass().getName() + " has no name"));
            return;
        }
        var clash = Backends.providers().stream().filter(o -> o.name().equalsIgnoreCase(name)).findFirst();
        if (clash.isPresent()) {
            failures.add(new Failure(jar, "a backend named '" + name + "' is already loaded from "
                    + Backends.origin(clash.get())));
            return;
        }
        LOADED.add(p);
        added.add(name);
    }
}
