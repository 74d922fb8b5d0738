package dev.based4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The figures of docs/spark.md: rows/s and generated tokens/s of the same generation in this JVM (no Spark) and on
 * {@code local-cluster} with 1 and 2 executors, one core and one CPU-backend thread each. Measured, not asserted;
 * runs only with {@code -Dbased4j.spark.figures=true}:
 * {@code ./mvnw -pl spark -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=SparkThroughputIT
 * -Dbased4j.spark.figures=true}.
 */
@EnabledIfSystemProperty(named = "based4j.spark.figures", matches = "true")
class SparkThroughputIT {
    static final int ROWS = 480;
    static final int PARTITIONS = 8;
    static final int TOKENS = 16;
    static final List<int[]> PROMPTS = TinyCheckpoints.randomPrompts(5, ROWS, 32, 100);
    static final BasedGeneration GREEDY = BasedGeneration.of(ModelSpec.at(TinyCheckpoints.ids().toString())
            .onBackend("cpu")).withMaxTokens(TOKENS).withStopTokens(Set.of()).withSeedColumn("seed");

    static String load() {
        return String.format("%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    static void report(String what, double seconds) {
        System.out.printf("FIGURE %-34s %6.1f s  %7.1f rows/s  %8.1f tokens/s  (load average %s)%n", what, seconds,
                ROWS / seconds, (double) ROWS * TOKENS / seconds, load());
    }

    static double timeCluster(SparkSession spark) {
        // warm-up: every executor loads the model and compiles the kernels before the timed job
        GREEDY.transform(LocalSpark.prompts(spark, PROMPTS.subList(0, 64), 4)).count();
        long t0 = System.nanoTime();
        List<Row> out = GREEDY.transform(LocalSpark.prompts(spark, PROMPTS, PARTITIONS))
                .select("generation.generated_tokens").collectAsList();
        double s = (System.nanoTime() - t0) / 1e9;
        assertThat(out.stream().mapToLong(r -> r.getInt(0)).sum()).isEqualTo((long) ROWS * TOKENS);
        return s;
    }

    @Test
    void measureOneJvmAgainstOneAndTwoExecutors() {
        System.setProperty("based4j.cpu.threads", "1");
        System.out.printf("FIGURE %d rows, prompts of 1-32 tokens, %d generated tokens each, f32 greedy, batch %d,"
                + " %d partitions, load average %s before%n", ROWS, TOKENS, GREEDY.batchSize(), PARTITIONS, load());
        LocalClusterIT.inThisJvm(GREEDY, PROMPTS.subList(0, 64), 4);
        long t0 = System.nanoTime();
        Map<Long, List<Integer>> local = LocalClusterIT.inThisJvm(GREEDY, PROMPTS, PARTITIONS);
        report("one JVM, no Spark, 1 thread", (System.nanoTime() - t0) / 1e9);
        assertThat(local).hasSize(ROWS);
        for (int executors : new int[] {1, 2}) {
            SparkSession spark = LocalCluster.start(executors, "-Dbased4j.cpu.threads=1");
            try {
                report("local-cluster, " + executors + " executor(s) x 1 core", timeCluster(spark));
            } finally {
                spark.stop();
            }
        }
        System.out.println("FIGURE batch size 1 (bit-identical across partitionings in f32), one JVM:");
        BasedGeneration single = GREEDY.withBatchSize(1);
        long t1 = System.nanoTime();
        LocalClusterIT.inThisJvm(single, PROMPTS, PARTITIONS);
        report("one JVM, no Spark, batch 1", (System.nanoTime() - t1) / 1e9);
    }
}
