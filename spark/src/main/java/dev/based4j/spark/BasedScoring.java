package dev.based4j.spark;

import java.io.Serial;
import java.io.Serializable;
import java.util.Objects;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Scoring over a Spark {@link Dataset}: the log-likelihood a BASED model gives each row's text or token ids, computed
 * on the executors by a model each executor loads once ({@link ModelSpec}).
 *
 * <pre>{@code
 * Dataset<Row> scored = BasedScoring.of(ModelSpec.at("/models/based-360m")).withInputColumn("text")
 *         .transform(documents);        // adds `score` (log_likelihood, scored_tokens, perplexity) and `score_error`
 * }</pre>
 *
 * <p><b>What is computed.</b> For a prompt of ids {@code x₀ … x_{n−1}}, {@code log_likelihood} is
 * {@code Σ_{t=1}^{n−1} log softmax(logits(x₀…x_{t−1}))[x_t]}, in nats, accumulated in float64 from the model's
 * logits, the softmax taken over the vocabulary {@code [0, vocab_size)} (padded ids never trained are left out, as in
 * generation); {@code scored_tokens} is {@code n − 1} (the first token is context only, so a prompt needs at least
 * two tokens); {@code perplexity} is {@code exp(−log_likelihood / scored_tokens)}. A row whose prompt is unusable
 * gets a null result and the problem in the error column, or fails the job in strict mode ({@link BadRowException}).
 *
 * <p>Rows are scored in batches of {@link #withBatchSize batchSize}, rows of equal length together; see the package
 * documentation for how batching affects the last bits in f32. {@link #register} makes the same scoring a SQL
 * function, evaluated one row at a time.
 *
 * <p>Instances are immutable and serializable; every {@code with...} method returns a validated copy.
 */
public final class BasedScoring implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    /** The type of the result column. */
    public static final StructType RESULT_TYPE = new StructType()
            .add("log_likelihood", DataTypes.DoubleType, false)
            .add("scored_tokens", DataTypes.IntegerType, false)
            .add("perplexity", DataTypes.DoubleType, false);

    /** The type a registered SQL function returns: {@link #RESULT_TYPE}'s fields, nullable, plus {@code error}. */
    public static final StructType FUNCTION_TYPE = Results.withError(RESULT_TYPE);

    private final ModelSpec model;
    private final String inputColumn;
    private final String outputColumn;
    private final String errorColumn;
    private final int batchSize;
    private final int maxPromptTokens;
    private final boolean strict;

    private BasedScoring(ModelSpec model, String inputColumn, String outputColumn, String errorColumn, int batchSize,
            int maxPromptTokens, boolean strict) {
        this.model = Objects.requireNonNull(model, "model");
        this.inputColumn = Columns.name(inputColumn, "inputColumn");
        this.outputColumn = Columns.name(outputColumn, "outputColumn");
        this.errorColumn = Columns.name(errorColumn, "errorColumn");
        if (outputColumn.equals(errorColumn)) {
            throw new IllegalArgumentException("errorColumn: '" + errorColumn + "' is also the outputColumn; expected"
                    + " two different names");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize: expected >= 1 rows, got " + batchSize);
        }
        this.batchSize = batchSize;
        if (maxPromptTokens < 2) {
            throw new IllegalArgumentException("maxPromptTokens: expected >= 2 (scoring needs two tokens), got "
                    + maxPromptTokens);
        }
        this.maxPromptTokens = maxPromptTokens;
        this.strict = strict;
    }

    /** Scores column {@code prompt} into {@code score} and {@code score_error}, in batches of 16 rows. */
    public static BasedScoring of(ModelSpec model) {
        return new BasedScoring(model, "prompt", "score", "score_error", BasedGeneration.DEFAULT_BATCH_SIZE,
                BasedGeneration.DEFAULT_MAX_PROMPT_TOKENS, false);
    }

    /** @return a copy reading prompts from {@code column}: string (text) or array of integers (token ids) */
    public BasedScoring withInputColumn(String column) {
        return new BasedScoring(model, column, outputColumn, errorColumn, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy writing the result struct to {@code column} */
    public BasedScoring withOutputColumn(String column) {
        return new BasedScoring(model, inputColumn, column, errorColumn, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy writing a row's problem (null when it has none) to {@code column} */
    public BasedScoring withErrorColumn(String column) {
        return new BasedScoring(model, inputColumn, outputColumn, column, batchSize, maxPromptTokens, strict);
    }

    /** @return a copy scoring up to {@code rows} rows of a partition together, ≥ 1 */
    public BasedScoring withBatchSize(int rows) {
        return new BasedScoring(model, inputColumn, outputColumn, errorColumn, rows, maxPromptTokens, strict);
    }

    /** @return a copy refusing (as a row error) prompts of more than {@code tokens} tokens, ≥ 2 */
    public BasedScoring withMaxPromptTokens(int tokens) {
        return new BasedScoring(model, inputColumn, outputColumn, errorColumn, batchSize, tokens, strict);
    }

    /** @return a copy that fails the job at the first unusable row instead of writing the error column */
    public BasedScoring withStrict(boolean failOnBadRow) {
        return new BasedScoring(model, inputColumn, outputColumn, errorColumn, batchSize, maxPromptTokens,
                failOnBadRow);
    }

    /** @return the model the executors run */
    public ModelSpec model() {
        return model;
    }

    /**
     * Adds the result and error columns to {@code input}; lazy, like every Spark transformation.
     *
     * @throws IllegalArgumentException naming the column when the input column is missing or of the wrong type, or
     *     an output column already exists
     */
    public Dataset<Row> transform(Dataset<?> input) {
        Objects.requireNonNull(input, "input");
        StructType schema = input.schema();
        int prompt = Columns.promptColumn(schema, inputColumn);
        Columns.free(schema, outputColumn, "outputColumn");
        Columns.free(schema, errorColumn, "errorColumn");
        StructType out = schema.add(outputColumn, RESULT_TYPE, true).add(errorColumn, DataTypes.StringType, true);
        return input.toDF().mapPartitions(new ScoringTask(this, prompt), Encoders.row(out));
    }

    /**
     * Registers SQL function {@code name(prompt)}, the prompt as text or {@code array<int>}, returning
     * {@link #FUNCTION_TYPE}. Evaluated row by row.
     *
     * @throws IllegalArgumentException when {@code name} is blank
     */
    public void register(SparkSession spark, String name) {
        Objects.requireNonNull(spark, "spark");
        spark.udf().register(Columns.name(name, "name"), new ScoringTask.Function(this), FUNCTION_TYPE);
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
        return "BasedScoring[" + model + ", " + inputColumn + " -> " + outputColumn + "/" + errorColumn + ", batch "
                + batchSize + (strict ? ", strict" : "") + "]";
    }
}
