package dev.based4j.spark;

import dev.based4j.model.GenerationOptions;
import java.io.Serial;
import java.io.Serializable;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Text generation over a Spark {@link Dataset}: each row's prompt (text, or an array of token ids) gets a generated
 * continuation, computed on the executors by a BASED model that each executor loads once ({@link ModelSpec}).
 *
 * <pre>{@code
 * Dataset<Row> out = BasedGeneration.of(ModelSpec.at("/models/based-360m").onBackend("cpu"))
 *         .withMaxTokens(64).withTemperature(0.8).withTopP(0.95).withSeedColumn("id")
 *         .transform(prompts);                       // adds columns `generation` and `generation_error`
 * }</pre>
 *
 * <p><b>Result.</b> {@link #transform} keeps every input column and adds two: the result struct
 * ({@link #RESULT_TYPE}: {@code ids}, the generated ids with the stop token if one ended the row; {@code text}, the
 * ids as text without the stop token when the model folder has a tokenizer, else null; {@code stop_reason},
 * {@code max_tokens} or {@code stop_token}; {@code prompt_tokens}; {@code generated_tokens}) and an error column. A
 * row whose prompt is unusable (null, empty, an id outside the vocabulary, longer than
 * {@link #withMaxPromptTokens maxPromptTokens}), whose seed is null, or whose logits are not finite gets a null
 * result and a sentence in the error column naming the problem; the job goes on. In strict mode such a row fails the
 * task with a {@link BadRowException} instead (Spark retries it and then fails the job).
 *
 * <p><b>Batching and seeds.</b> Each task reads its partition in batches of {@link #withBatchSize batchSize} rows;
 * rows of equal prompt length decode together. Row {@code r} samples from a generator seeded with its own seed: the
 * value of the {@link #withSeedColumn seed column}, or, without one, {@link #rowSeed(long, int[])} of the base seed
 * and its prompt. Its tokens therefore do not depend on which rows share its batch or partition, and a task Spark
 * retries produces exactly what the first attempt would have: they are the tokens of
 * {@code Generator.generate(prompt, options.withSeed(rowSeed))} run alone, up to the backend's rounding (see the
 * package documentation for when batching changes the last bits of a row's logits).
 *
 * <p><b>SQL.</b> {@link #register} makes the same generation a SQL function, evaluated one row at a time (Spark calls
 * JVM functions row by row; use {@link #transform} for batched throughput).
 *
 * <p>Instances are immutable and serializable; every {@code with...} method returns a validated copy.
 */
public final class BasedGeneration implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    /** The type of the result column. */
    public static final StructType RESULT_TYPE = new StructType()
            .add("ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false)
            .add("text", DataTypes.StringType, true)
            .add("stop_reason", DataTypes.StringType, false)
            .add("prompt_tokens", DataTypes.IntegerType, false)
            .add("generated_tokens", DataTypes.IntegerType, false);

    /** The type a registered SQL function returns: {@link #RESULT_TYPE}'s fields, nullable, plus {@code error}. */
    public static final StructType FUNCTION_TYPE = Results.withError(RESULT_TYPE);

    /** Default {@link #withBatchSize batch size}. */
    public static final int DEFAULT_BATCH_SIZE = 16;
    /** Default {@link #withMaxPromptTokens longest prompt}. */
    public static final int DEFAULT_MAX_PROMPT_TOKENS = 1 << 20;

    private final ModelSpec model;
    private final String inputColumn;
    private final String outputColumn;
    private final String errorColumn;
    private final String seedColumn;
    private final int maxTokens;
    private final double temperature;
    private final int topK;
    private final double topP;
    private final long seed;
    private final Set<Integer> stopTokens;
    private final int batchSize;
    private final int maxPromptTokens;
    private final boolean strict;

    private BasedGeneration(ModelSpec model, String inputColumn, String outputColumn, String errorColumn,
            String seedColumn, int maxTokens, double temperature, int topK, double topP, long seed,
            Set<Integer> stopTokens, int batchSize, int maxPromptTokens, boolean strict) {
        this.model = Objects.requireNonNull(model, "model");
        this.inputColumn = Columns.name(inputColumn, "inputColumn");
        this.outputColumn = Columns.name(outputColumn, "outputColumn");
        this.errorColumn = Columns.name(errorColumn, "errorColumn");
        if (outputColumn.equals(errorColumn)) {
            throw new IllegalArgumentException("errorColumn: '" + errorColumn + "' is also the outputColumn; expected"
                    + " two different names");
        }
        if (seedColumn != null) {
            Columns.name(seedColumn, "seedColumn");
        }
        this.seedColumn = seedColumn;
        // validates maxTokens, temperature, topK, topP and the stop tokens with the generator's own messages
        new GenerationOptions(maxTokens, temperature, topK, topP, seed, stopTokens == null ? Set.of() : stopTokens);
        this.maxTokens = maxTokens;
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.seed = seed;
        this.stopTokens = stopTokens == null ? null : Set.copyOf(new LinkedHashSet<>(stopTokens));
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize: expected >= 1 rows, got " + batchSize);
        }
        this.batchSize = batchSize;
        if (maxPromptTokens < 1) {
            throw new IllegalArgumentException("maxPromptTokens: expected >= 1, got " + maxPromptTokens);
        }
        this.maxPromptTokens = maxPromptTokens;
        this.strict = strict;
    }

    /**
     * Greedy generation of up to 32 tokens from column {@code prompt} into {@code generation} and
     * {@code generation_error}, batches of {@value #DEFAULT_BATCH_SIZE}, stopping at the model's {@code eos_token_id}
     * if its config has one.
     */
    public static BasedGeneration of(ModelSpec model) {
        return new BasedGeneration(model, "prompt", "generation", "generation_error", null, 32, 0, 0, 1, 0, null,
                DEFAULT_BATCH_SIZE, DEFAULT_MAX_PROMPT_TOKENS, false);
    }

    /** @return a copy running another model */
    public BasedGeneration withModel(ModelSpec spec) {
        return new BasedGeneration(spec, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, temperature,
                topK, topP, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy reading prompts from {@code column}: string (text) or array of integers (token ids) */
    public BasedGeneration withInputColumn(String column) {
        return new BasedGeneration(model, column, outputColumn, errorColumn, seedColumn, maxTokens, temperature, topK,
                topP, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy writing the result struct to {@code column} */
    public BasedGeneration withOutputColumn(String column) {
        return new BasedGeneration(model, inputColumn, column, errorColumn, seedColumn, maxTokens, temperature, topK,
                topP, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy writing a row's problem (null when it has none) to {@code column} */
    public BasedGeneration withErrorColumn(String column) {
        return new BasedGeneration(model, inputColumn, outputColumn, column, seedColumn, maxTokens, temperature, topK,
                topP, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /**
     * @param column an integral column whose value is each row's sampling seed (a stable row id is a good one), or
     *     null to derive each row's seed from the base seed and its prompt ({@link #rowSeed})
     * @return a copy taking each row's seed from {@code column}
     */
    public BasedGeneration withSeedColumn(String column) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, column, maxTokens, temperature, topK,
                topP, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy generating at most {@code n} tokens per row, n ≥ 1 */
    public BasedGeneration withMaxTokens(int n) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, n, temperature, topK,
                topP, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy sampling at temperature {@code t} ≥ 0; 0 is greedy */
    public BasedGeneration withTemperature(double t) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, t, topK,
                topP, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy sampling among the {@code k} most likely tokens; 0 keeps all */
    public BasedGeneration withTopK(int k) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, temperature,
                k, topP, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy sampling among the most likely tokens whose probability adds up to {@code p} in (0, 1] */
    public BasedGeneration withTopP(double p) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, temperature,
                topK, p, seed, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy with base seed {@code s}, used for rows' seeds when there is no seed column */
    public BasedGeneration withSeed(long s) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, temperature,
                topK, topP, s, stopTokens, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy ending a row at any of {@code ids} (empty: never), instead of the config's eos token */
    public BasedGeneration withStopTokens(Set<Integer> ids) {
        Objects.requireNonNull(ids, "stopTokens");
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, temperature,
                topK, topP, seed, ids, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy decoding up to {@code rows} rows of a partition together, ≥ 1 */
    public BasedGeneration withBatchSize(int rows) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, temperature,
                topK, topP, seed, stopTokens, rows, maxPromptTokens, strict);
    }

    /** @return a copy refusing (as a row error) prompts of more than {@code tokens} tokens, ≥ 1 */
    public BasedGeneration withMaxPromptTokens(int tokens) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, temperature,
                topK, topP, seed, stopTokens, batchSize, tokens, strict);
    }

    /** @return a copy that fails the job at the first unusable row instead of writing the error column */
    public BasedGeneration withStrict(boolean failOnBadRow) {
        return new BasedGeneration(model, inputColumn, outputColumn, errorColumn, seedColumn, maxTokens, temperature,
                topK, topP, seed, stopTokens, batchSize, maxPromptTokens, failOnBadRow);
    }

    /** @return the model the executors run */
    public ModelSpec model() {
        return model;
    }

    /**
     * Adds the result and error columns to {@code input}. Lazy, like every Spark transformation: the model is loaded
     * and rows are generated when an action runs.
     *
     * @throws IllegalArgumentException naming the column when the input column is missing or of the wrong type, the
     *     seed column is missing or not integral, or an output column already exists
     */
    public Dataset<Row> transform(Dataset<?> input) {
        Objects.requireNonNull(input, "input");
        StructType schema = input.schema();
        int prompt = Columns.promptColumn(schema, inputColumn);
        int seedIndex = Columns.seedColumn(schema, seedColumn);
        Columns.free(schema, outputColumn, "outputColumn");
        Columns.free(schema, errorColumn, "errorColumn");
        StructType out = schema.add(outputColumn, RESULT_TYPE, true).add(errorColumn, DataTypes.StringType, true);
        return input.toDF().mapPartitions(new GenerationTask(this, prompt, seedIndex), Encoders.row(out));
    }

    /**
     * Registers SQL function {@code name(prompt)}: the prompt as text or {@code array<int>}, the seed derived from
     * the base seed and the prompt ({@link #rowSeed}); returns {@link #FUNCTION_TYPE}. Evaluated row by row.
     *
     * @throws IllegalArgumentException when {@code name} is blank
     */
    public void register(SparkSession spark, String name) {
        Objects.requireNonNull(spark, "spark");
        spark.udf().register(Columns.name(name, "name"), new GenerationFunction.OneArgument(this), FUNCTION_TYPE);
    }

    /**
     * Registers SQL function {@code name(prompt, seed)}, where {@code seed} (an integral expression, such as a row
     * id) is the row's sampling seed; otherwise as {@link #register}.
     *
     * @throws IllegalArgumentException when {@code name} is blank
     */
    public void registerSeeded(SparkSession spark, String name) {
        Objects.requireNonNull(spark, "spark");
        spark.udf().register(Columns.name(name, "name"), new GenerationFunction.TwoArguments(this), FUNCTION_TYPE);
    }

    /**
     * The seed of a row without a seed column: a 64-bit mix (SplitMix64's finaliser) of the base seed, the prompt's
     * length and its ids. Rows with equal prompts draw equal continuations; give a seed column to tell them apart.
     */
    public static long rowSeed(long seed, int[] promptIds) {
        Objects.requireNonNull(promptIds, "promptIds");
        long h = mix(seed ^ 0x9E3779B97F4A7C15L * (promptIds.length + 1L));
        for (int id : promptIds) {
            h = mix(h + 0x9E3779B97F4A7C15L + id);
        }
        return h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** @return the generator options of a row, with the config's eos token as stop token unless set */
    GenerationOptions options(java.util.OptionalInt eos) {
        Set<Integer> stops = stopTokens != null ? stopTokens : eos.isPresent() ? Set.of(eos.getAsInt()) : Set.of();
        return new GenerationOptions(maxTokens, temperature, topK, topP, seed, stops);
    }

    long seed() {
        return seed;
    }

    String seedColumn() {
        return seedColumn;
    }

    int batchSize() {
        return batchSize;
    }

    int maxPromptTokens() {
        return maxPromptTokens;
    }

    boolean strict() {
        return strict;
    }

    @Override
    public String toString() {
        return "BasedGeneration[" + model + ", " + inputColumn + " -> " + outputColumn + "/" + errorColumn
                + ", maxTokens " + maxTokens + ", temperature " + temperature + ", topK " + topK + ", topP " + topP
                + (seedColumn != null ? ", seeds from " + seedColumn : ", seed " + seed) + ", batch " + batchSize
                + (strict ? ", strict" : "") + "]";
    }
}
