package dev.based4j.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.Operation;
import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.spi.ConvFamily;
import dev.based4j.spi.Engine;
import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.spi.SlidingWindowFamily;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Every JMH benchmark on a backend ends each invocation by waiting for it ({@link Backend#synchronize()}): run once
 * at the smallest of its parameters on the CPU backend whose engine logs every kernel call and every wait, each
 * {@code @Benchmark} method's last backend event must be the wait, after at least one kernel.
 */
class BenchmarksWaitForTheBackendTest {
    /** The 360M-shaped stacks build 1.45 GB of weights, too much for a unit test: listed, not skipped silently. */
    private static final Set<String> TOO_LARGE = Set.of("Stack360mDecodeBenchmark", "Stack360mPrefillBenchmark");
    private static final String SYNC = "synchronize";
    private static final String KERNEL = "kernel";

    /** @return every concrete {@link BackendBench} in the compiled benchmarks */
    private static List<Class<? extends BackendBench>> benchmarks() throws Exception {
        Path dir = classes().resolve(BackendBench.class.getPackageName().replace('.', '/'));
        List<Class<? extends BackendBench>> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".class") && !name.contains("$")) {
                    Class<?> c = Class.forName(BackendBench.class.getPackageName() + "."
                            + name.substring(0, name.length() - ".class".length()));
                    if (BackendBench.class.isAssignableFrom(c) && !Modifier.isAbstract(c.getModifiers())) {
                        out.add(c.asSubclass(BackendBench.class));
                    }
                }
            }
        }
        return out;
    }

    private static Path classes() throws URISyntaxException {
        return Path.of(BackendBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void findsTheBenchmarksAndLeavesOutOnlyTheTwoLargeStacks() throws Exception {
        List<String> names = benchmarks().stream().map(Class::getSimpleName).toList();
        assertThat(names).as("backend benchmarks found").contains("LinearAttentionDecodeBenchmark",
                "MatmulBenchmark", "PlumbingBenchmark").containsAll(TOO_LARGE);
        assertThat(names.size() - TOO_LARGE.size()).as("benchmarks run by this test").isGreaterThanOrEqualTo(10);
    }

    @TestFactory
    Stream<DynamicTest> everyBenchmarkMethodEndsByWaitingForTheBackend() throws Exception {
        return benchmarks().stream().filter(c -> !TOO_LARGE.contains(c.getSimpleName()))
                .map(c -> DynamicTest.dynamicTest(c.getSimpleName() + " waits for the backend in every method",
                        () -> check(c)));
    }

    private static void check(Class<? extends BackendBench> type) throws Exception {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        try (Backend cpu = Backends.select("cpu"); Backend logged = logging(Engine.behind(cpu), events)) {
            BackendBench bench = type.getDeclaredConstructor().newInstance();
            bench.backend = "cpu";
            bench.b = logged;
            smallestParameters(bench);
            run(bench, Setup.class, Level.Trial);
            try {
                for (Method m : type.getMethods()) {
                    if (!m.isAnnotationPresent(Benchmark.class)) {
                        continue;
                    }
                    run(bench, Setup.class, Level.Invocation);
                    events.clear();
                    Object[] args = Arrays.stream(m.getParameterTypes()).map(p -> p == Rates.class ? new Rates() : null)
                            .toArray();
                    invoke(m, bench, args);
                    List<String> seen = List.copyOf(events);
                    run(bench, TearDown.class, Level.Invocation);
                    assertThat(seen).as("%s.%s: backend events of one invocation", type.getSimpleName(), m.getName())
                            .contains(KERNEL).last().isEqualTo(SYNC);
                }
            } finally {
                run(bench, TearDown.class, Level.Trial);
            }
        }
    }

    /** Sets every {@code @Param} the benchmark declares to the smallest of its values (the first, for text). */
    private static void smallestParameters(BackendBench bench) throws IllegalAccessException {
        for (Class<?> c = bench.getClass(); c != BackendBench.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                Param p = f.getAnnotation(Param.class);
                if (p == null) {
                    continue;
                }
                if (f.getType() == int.class) {
                    f.setInt(bench, Arrays.stream(p.value()).mapToInt(Integer::parseInt).min().orElseThrow());
                } else if (f.getType() == String.class) {
                    f.set(bench, p.value()[0]);
                } else if (f.getType().isEnum()) {
                    f.set(bench, enumValue(f.getType(), p.value()[0]));
                } else {
                    throw new IllegalStateException(c.getSimpleName() + "." + f.getName() + ": no rule for a "
                            + f.getType() + " parameter");
                }
            }
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumValue(Class<?> type, String name) {
        return Enum.valueOf((Class) type, name);
    }

    /** Runs the benchmark's own setup or tear-down methods of {@code level} (not the backend's: the test owns it). */
    private static void run(BackendBench bench, Class<? extends java.lang.annotation.Annotation> kind, Level level)
            throws Exception {
        for (Method m : bench.getClass().getMethods()) {
            if (m.getDeclaringClass() == BackendBench.class) {
                continue;
            }
            Level l = kind == Setup.class ? (m.isAnnotationPresent(Setup.class) ? m.getAnnotation(Setup.class).value()
                    : null) : (m.isAnnotationPresent(TearDown.class) ? m.getAnnotation(TearDown.class).value() : null);
            if (l == level) {
                invoke(m, bench);
            }
        }
    }

    private static void invoke(Method m, Object target, Object... args) throws Exception {
        try {
            m.invoke(target, args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    /** The engine behind {@code cpu} with its families and its wait logging into {@code events}. */
    private static <B> Backend logging(Engine<B> engine, List<String> events) {
        Engine.Builder<B> b = engine.toBuilder().onClose(null).synchronize(() -> {
            engine.synchronize();
            events.add(SYNC);
        });
        engine.featureMaps().ifPresent(f -> b.featureMaps(logged(FeatureMapFamily.class, f, events),
                engine.capabilities().featureMapsOf(Operation.FEATURE_MAP)));
        engine.linearAttention().ifPresent(f -> b.linearAttention(logged(LinearAttentionFamily.class, f, events),
                engine.capabilities().featureMapsOf(Operation.LINEAR_ATTENTION)));
        engine.slidingWindow().ifPresent(f -> b.slidingWindow(logged(SlidingWindowFamily.class, f, events)));
        engine.basedAttention().ifPresent(f -> b.basedAttention(logged(BasedAttentionFamily.class, f, events),
                engine.capabilities().featureMapsOf(Operation.BASED_ATTENTION)));
        engine.conv().ifPresent(f -> b.conv(logged(ConvFamily.class, f, events)));
        engine.plumbing().ifPresent(f -> b.plumbing(logged(PlumbingFamily.class, f, events)));
        return b.build().open("cpu");
    }

    @SuppressWarnings("unchecked")
    private static <T> T logged(Class<?> family, Object real, List<String> events) {
        return (T) Proxy.newProxyInstance(family.getClassLoader(), new Class<?>[] {family}, (proxy, method, args) -> {
            if (method.getDeclaringClass() != Object.class) {
                events.add(KERNEL);
            }
            try {
                return method.invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }
}
