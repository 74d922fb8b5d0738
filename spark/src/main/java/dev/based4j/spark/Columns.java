package dev.based4j.spark;

import java.util.Arrays;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;

/** Checks of a transformation's columns against the input schema, made on the driver before any task starts. */
final class Columns {
    private Columns() {}

    /**
     * @return the index of the prompt column
     * @throws IllegalArgumentException naming the column when it is missing or neither a string nor an array of
     *     integers
     */
    static int promptColumn(StructType schema, String name) {
        int i = index(schema, name, "inputColumn");
        DataType type = schema.fields()[i].dataType();
        boolean ok = type instanceof StringType
                || type instanceof ArrayType a && integral(a.elementType());
        if (!ok) {
            throw new IllegalArgumentException("inputColumn: '" + name + "' is " + type.simpleString()
                    + "; expected string (text, for a model folder with a tokenizer) or array<int> (token ids)");
        }
        return i;
    }

    /**
     * @return the index of the seed column, or -1 when {@code name} is null
     * @throws IllegalArgumentException naming the column when it is missing or not integral
     */
    static int seedColumn(StructType schema, String name) {
        if (name == null) {
            return -1;
        }
        int i = index(schema, name, "seedColumn");
        DataType type = schema.fields()[i].dataType();
        if (!integral(type)) {
            throw new IllegalArgumentException("seedColumn: '" + name + "' is " + type.simpleString()
                    + "; expected an integral type (bigint, int)");
        }
        return i;
    }

    /** @throws IllegalArgumentException naming the option when the column already exists */
    static void free(StructType schema, String name, String option) {
        if (Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(option + ": column '" + name + "' already exists in the input "
                    + Arrays.toString(schema.fieldNames()) + "; choose another name");
        }
    }

    /** @throws IllegalArgumentException naming the option when the name is null or blank */
    static String name(String name, String option) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(option + ": expected a column name, got "
                    + (name == null ? "null" : "a blank string"));
        }
        return name;
    }

    /** @return the Spark partition of the running task, or -1 outside a task */
    static int partition() {
        TaskContext ctx = TaskContext.get();
        return ctx == null ? -1 : ctx.partitionId();
    }

    /** @return a check that throws Spark's task-killed exception once the task has been asked to stop */
    static BatchDecode.Interruption interruption() {
        TaskContext ctx = TaskContext.get();
        if (ctx == null) {
            return () -> {
                if (Thread.currentThread().isInterrupted()) {
                    throw new IllegalStateException("interrupted");
                }
            };
        }
        return ctx::killTaskIfInterrupted;
    }

    private static int index(StructType schema, String name, String option) {
        if (!Arrays.asList(schema.fieldNames()).contains(name)) {
            throw new IllegalArgumentException(option + ": no column '" + name + "' in the input "
                    + Arrays.toString(schema.fieldNames()));
        }
        return schema.fieldIndex(name);
    }

    private static boolean integral(DataType t) {
        return t instanceof IntegerType || t instanceof LongType || t instanceof ShortType || t instanceof ByteType;
    }
}
