package dev.based4j.spark;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/**
 * A Spark {@code local-cluster[N,1,1024]}: a Master and N Workers in this JVM, each Worker launching an executor JVM
 * of its own, as Spark's own tests run. The executors are set up like those of a real installation running a job:
 * <ul>
 * <li>their class path is Spark's alone, as a Spark home's {@code jars/} folder gives it: this JVM's class path
 *     less based4j (this module's classes and jars, the folders of the reactor and every jar in {@code target/lib});
 *     Spark's launcher needs {@code SPARK_HOME} with a {@code jars/} folder and {@code SPARK_SCALA_VERSION}, which
 *     the build sets and this class creates;</li>
 * <li>based4j reaches them through {@code spark.jars}, as {@code spark-submit --jars} ships it: this module's jar, its
 *     tests jar (the functions tests run on executors) and {@code target/lib}, the module's runtime dependencies
 *     that Spark does not already have.</li>
 * </ul>
 * So an executor that finds the CPU backend found it through Spark's class loader for the job's jars.
 */
final class LocalCluster {
    private LocalCluster() {}

    /** @return {@code target/lib}, from the build */
    static Path jobLibrary() {
        String lib = System.getProperty("based4j.spark.jobJars");
        if (lib == null) {
            throw new IllegalStateException("based4j.spark.jobJars is not set: run the local-cluster tests through"
                    + " Maven (failsafe), after the module's jars are packaged");
        }
        return Path.of(lib).toAbsolutePath();
    }

    /** @return the jars a job ships: this module's jar and tests jar, and target/lib */
    static List<Path> jobJars() {
        Path lib = jobLibrary();
        Path target = lib.getParent();
        try (Stream<Path> libs = Files.list(lib); Stream<Path> own = Files.list(target)) {
            List<Path> jars = new ArrayList<>(own.filter(p -> p.getFileName().toString().matches(
                    "based4j-spark-.*\\.jar")).sorted().toList());
            if (jars.size() != 2) {
                throw new IllegalStateException("expected this module's jar and tests jar in " + target + ", found "
                        + jars);
            }
            jars.addAll(libs.filter(p -> p.toString().endsWith(".jar")).sorted().toList());
            return jars;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return this JVM's class path less everything based4j: what a Spark installation puts on executors */
    static String sparkClassPath() {
        Set<String> shipped = jobJars().stream().map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.isBlank())
                .filter(e -> !Files.isDirectory(Path.of(e)))
                .filter(e -> !shipped.contains(Path.of(e).getFileName().toString()))
                .filter(e -> !Path.of(e).getFileName().toString().startsWith("based4j-"))
                .collect(Collectors.joining(File.pathSeparator));
    }

    /**
     * Starts {@code local-cluster[executors,1,1024]} and waits until every executor has registered.
     *
     * @param extraExecutorOptions JVM options for the executors (Spark adds its module options itself)
     * @param files shipped to every executor as {@code spark-submit --files} ships them
     */
    static SparkSession start(int executors, String extraExecutorOptions, Path... files) {
        String home = System.getenv("SPARK_HOME");
        if (home == null || System.getenv("SPARK_SCALA_VERSION") == null) {
            throw new IllegalStateException("SPARK_HOME and SPARK_SCALA_VERSION must be set for local-cluster (the"
                    + " build's failsafe configuration sets them)");
        }
        try {
            Files.createDirectories(Path.of(home, "jars"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SparkSession spark = SparkSession.builder()
                .master("local-cluster[" + executors + ",1,1024]")
                .appName("based4j-local-cluster")
                .config("spark.jars", jobJars().stream().map(Path::toString).collect(Collectors.joining(",")))
                .config("spark.executor.extraClassPath", sparkClassPath())
                .config("spark.executor.extraJavaOptions", extraExecutorOptions)
                .config("spark.files", Arrays.stream(files).map(Path::toString).collect(Collectors.joining(",")))
                .config("spark.executor.memory", "1g")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (spark.sparkContext().statusTracker().getExecutorInfos().length < executors + 1) {
            if (System.nanoTime() > deadline) {
                spark.stop();
                throw new IllegalStateException("local-cluster: " + executors + " executors did not register within"
                        + " 120 s; see the executors' logs under " + Path.of(home, "work"));
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return spark;
    }
}
