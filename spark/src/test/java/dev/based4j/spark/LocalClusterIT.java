package dev.based4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backends;
import dev.based4j.spi.BackendProvider;
import java.io.Serial;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * based4j in separate executor JVMs ({@code local-cluster[2,1,1024]}, see {@link LocalCluster}): the backends are
 * found inside the executors, the model ships by path, results equal the same work in this JVM row for row, and an
 * executor killed in the middle of a partition is replaced by a retry with identical results.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocalClusterIT {
    static final int ROWS = 300;
    /** float64 runs the reference kernels, several times slower than float32: fewer rows */
    static final int F64_ROWS = 150;
    static final int PARTITIONS = 6;
    static final List<int[]> PROMPTS = TinyCheckpoints.randomPrompts(99, ROWS, 24, 100);
    static final ModelSpec F64 = ModelSpec.at(TinyCheckpoints.ids().toString()).onBackend("cpu").withWeightFormat("f64");
    static final ModelSpec F32 = F64.withWeightFormat("f32");

    SparkSession spark;
    long started;

    @BeforeAll
    void startCluster() {
        started = System.nanoTime();
        // the model's files also ship as spark-submit --files ships them, for the tests of ModelSpec.SHIPPED_FILES
        spark = LocalCluster.start(2, "", TinyCheckpoints.ids().resolve("config.json"),
                TinyCheckpoints.ids().resolve("model.safetensors"));
        System.out.printf("local-cluster[2,1,1024] up in %.1f s%n", (System.nanoTime() - started) / 1e9);
    }

    @AfterAll
    void stopCluster() {
        if (spark != null) {
            spark.stop();
        }
        System.out.printf("LocalClusterIT: %.1f s from cluster start to stop (load average %s)%n",
                (System.nanoTime() - started) / 1e9, loadAverage());
    }

    static String loadAverage() {
        return String.format("%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    /** What the same transformation computes in this JVM: each partition's rows through the same task, in order. */
    static Map<Long, List<Integer>> inThisJvm(BasedGeneration generation, List<int[]> prompts, int partitions) {
        Map<Long, List<Integer>> byId = new TreeMap<>();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            rows.add(org.apache.spark.sql.RowFactory.create((long) i, LocalSpark.seq(LocalSpark.boxed(prompts.get(i))),
                    1000L + i));
        }
        for (int p = 0; p < partitions; p++) {
            // the slices SparkContext.parallelize makes of a list
            List<Row> slice = rows.subList((int) ((long) p * rows.size() / partitions),
                    (int) ((long) (p + 1) * rows.size() / partitions));
            Iterator<Row> out = new GenerationTask(generation, 1, 2).call(slice.iterator());
            out.forEachRemaining(r -> {
                assertThat(r.<String>getAs(4)).as("error of row %d", r.getLong(0)).isNull();
                Object ids = r.getStruct(3).get(0);
                byId.put(r.getLong(0), ids instanceof int[] a ? LocalSpark.boxed(a) : r.getStruct(3).getList(0));
            });
        }
        return byId;
    }

    /** On an executor: its id, process, the loader of based4j's classes, and the backend providers it finds. */
    static final class ExecutorProbe implements MapPartitionsFunction<Long, String> {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public Iterator<String> call(Iterator<Long> ignored) {
            boolean onSystemClassPath;
            try {
                Class.forName("dev.based4j.Backends", false, ClassLoader.getSystemClassLoader());
                onSystemClassPath = true;
            } catch (ClassNotFoundException e) {
                onSystemClassPath = false;
            }
            String providers = String.join(",", Backends.providers().stream().map(BackendProvider::name).toList());
            return List.of(SparkEnv.get().executorId() + "|" + ProcessHandle.current().pid() + "|"
                    + Backends.class.getClassLoader().getClass().getName() + "|" + onSystemClassPath + "|"
                    + providers + "|" + ExecutorModels.resolve(ModelSpec.SHIPPED_FILES)).iterator();
        }
    }

    /** Passes rows through, but halts the executor JVM at row {@code row} of partition 1 on a first attempt. */
    static final class HaltOnFirstAttempt implements MapPartitionsFunction<Row, Row> {
        @Serial
        private static final long serialVersionUID = 1L;
        private final int row;

        HaltOnFirstAttempt(int row) {
            this.row = row;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            TaskContext ctx = TaskContext.get();
            return new Iterator<>() {
                int seen;

                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public Row next() {
                    if (ctx.partitionId() == 1 && ctx.attemptNumber() == 0 && seen++ == row) {
                        Runtime.getRuntime().halt(137);
                    }
                    return rows.next();
                }
            };
        }
    }

    static Map<Long, List<Integer>> idsById(Dataset<Row> out) {
        return BasedGenerationTest.idsById(out);
    }

    @Nested
    class Executors {
        @Test
        void findTheCpuBackendThroughServiceLoaderInTheJobsClassLoaderNotOnTheirClassPath() {
            List<String> probes = spark.range(0, 8, 1, 8).mapPartitions(new ExecutorProbe(), Encoders.STRING())
                    .collectAsList();
            long driverPid = ProcessHandle.current().pid();
            Set<String> executors = new java.util.HashSet<>();
            for (String p : probes) {
                String[] f = p.split("\\|");
                executors.add(f[0]);
                assertThat(Long.parseLong(f[1])).as("executor process").isNotEqualTo(driverPid);
                assertThat(f[2]).as("loader of dev.based4j.Backends").isEqualTo(
                        "org.apache.spark.util.MutableURLClassLoader");
                assertThat(f[3]).as("based4j on the executor's system class path").isEqualTo("false");
                assertThat(f[4].split(",")).as("providers ServiceLoader finds").contains("cpu");
                assertThat(Path.of(f[5])).as("where files shipped with the job land on the executor")
                        .isNotEqualTo(TinyCheckpoints.ids()).isDirectoryContaining("glob:**/config.json")
                        .isDirectoryContaining("glob:**/model.safetensors");
            }
            assertThat(executors).as("executors that ran the probe").hasSize(2);
        }
    }

    @Nested
    class Results {
        @Test
        void float64GenerationEqualsTheGeneratorAloneInThisJvmRowForRow() {
            BasedGeneration sampled = BasedGeneration.of(F64).withMaxTokens(3).withTemperature(0.8).withTopK(30)
                    .withSeedColumn("seed").withBatchSize(16);
            long t0 = System.nanoTime();
            List<int[]> prompts = PROMPTS.subList(0, F64_ROWS);
            Map<Long, List<Integer>> cluster = idsById(sampled.transform(LocalSpark.prompts(spark, prompts,
                    PARTITIONS)));
            System.out.printf("f64, %d rows on 2 executors: %.1f s%n", F64_ROWS, (System.nanoTime() - t0) / 1e9);
            // other partitions and batches in this JVM: float64 rows do not depend on them
            assertThat(cluster).hasSize(F64_ROWS).isEqualTo(inThisJvm(sampled.withBatchSize(5), prompts, 1));
        }

        @Test
        void float32GenerationEqualsTheSameWorkInThisJvmRowForRow() {
            BasedGeneration sampled = BasedGeneration.of(F32).withMaxTokens(8).withTemperature(0.8).withTopP(0.9)
                    .withSeedColumn("seed");
            Map<Long, List<Integer>> cluster = idsById(sampled.transform(LocalSpark.prompts(spark, PROMPTS,
                    PARTITIONS)));
            assertThat(cluster).hasSize(ROWS).isEqualTo(inThisJvm(sampled, PROMPTS, PARTITIONS));
        }

        @Test
        void aModelShippedAsTheJobsFilesGivesTheResultsOfTheSharedPath() {
            BasedGeneration shared = BasedGeneration.of(F32).withMaxTokens(4).withSeedColumn("seed");
            BasedGeneration shipped = shared.withModel(ModelSpec.at(ModelSpec.SHIPPED_FILES).onBackend("cpu"));
            List<int[]> some = PROMPTS.subList(0, 40);
            assertThat(idsById(shipped.transform(LocalSpark.prompts(spark, some, 2))))
                    .isEqualTo(idsById(shared.transform(LocalSpark.prompts(spark, some, 2))));
        }
    }

    @Nested
    class Faults {
        @Test
        void anExecutorKilledMidPartitionIsRetriedWithIdenticalResults() {
            List<String> failures = new CopyOnWriteArrayList<>();
            SparkListener listener = new SparkListener() {
                @Override
                public void onTaskEnd(SparkListenerTaskEnd end) {
                    if (!end.taskInfo().successful()) {
                        failures.add("partition " + end.taskInfo().partitionId() + " attempt "
                                + end.taskInfo().attemptNumber() + ": " + end.reason());
                    }
                }
            };
            spark.sparkContext().addSparkListener(listener);
            try {
                BasedGeneration sampled = BasedGeneration.of(F32).withMaxTokens(6).withTemperature(1.0)
                        .withSeedColumn("seed");
                Dataset<Row> generated = sampled.transform(LocalSpark.prompts(spark, PROMPTS, PARTITIONS));
                Dataset<Row> killed = generated.mapPartitions(new HaltOnFirstAttempt(30),
                        Encoders.row(generated.schema()));
                Map<Long, List<Integer>> out = idsById(killed);
                assertThat(failures).as("failed task attempts").anySatisfy(f -> assertThat(f)
                        .startsWith("partition 1 attempt 0").contains("ExecutorLostFailure"));
                assertThat(out).hasSize(ROWS).isEqualTo(inThisJvm(sampled, PROMPTS, PARTITIONS));
            } finally {
                spark.sparkContext().removeSparkListener(listener);
            }
        }
    }
}
