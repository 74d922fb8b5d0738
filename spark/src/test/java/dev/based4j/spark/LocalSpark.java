package dev.based4j.spark;

import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** One local Spark session (driver and executor in this JVM, two task threads) shared by the unit tests. */
final class LocalSpark {
    /** Columns of the prompt tables: a stable row id, the prompt and a seed. */
    static final StructType ID_PROMPTS = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("prompt", DataTypes.createArrayType(DataTypes.IntegerType, true), true)
            .add("seed", DataTypes.LongType, true);

    private static SparkSession session;

    private LocalSpark() {}

    static synchronized SparkSession session() {
        if (session == null) {
            session = SparkSession.builder().master("local[2]").appName("based4j-spark-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .getOrCreate();
            session.sparkContext().setLogLevel("WARN");
        }
        return session;
    }

    /** @return rows (id i, prompts[i] as array, seed 1000 + i) in {@code partitions} partitions, in order */
    static Dataset<Row> prompts(SparkSession spark, List<int[]> prompts, int partitions) {
        List<Row> rows = IntStream.range(0, prompts.size())
                .mapToObj(i -> RowFactory.create((long) i, seq(boxed(prompts.get(i))), 1000L + i)).toList();
        return rows(spark, rows, ID_PROMPTS, partitions);
    }

    static Dataset<Row> rows(SparkSession spark, List<Row> rows, StructType schema, int partitions) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataFrame(jsc.parallelize(rows, partitions), schema);
    }

    /** @return {@code values} as the Scala sequence a {@link Row} holds for an array column (null stays null) */
    static scala.collection.immutable.Seq<Object> seq(List<?> values) {
        return values == null ? null : scala.jdk.javaapi.CollectionConverters.asScala(new java.util.ArrayList<Object>(
                values)).toList();
    }

    static List<Integer> boxed(int[] ids) {
        return ids == null ? null : java.util.Arrays.stream(ids).boxed().toList();
    }
}
