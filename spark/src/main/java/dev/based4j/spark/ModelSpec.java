package dev.based4j.spark;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;
import java.io.Serializable;
import java.util.Objects;

/**
 * Which model the executors run: a checkpoint folder in the released layout ({@code config.json} +
 * {@code model.safetensors}, optionally {@code tokenizer.json} or {@code vocab.json} + {@code merges.txt}), the
 * backend to run it on and the element type its weights are uploaded in. Each executor JVM loads one model per
 * distinct spec, once, the first time a task needs it (see {@link BasedGeneration} and {@link BasedScoring}).
 *
 * <p><b>How the folder reaches the executors.</b> The path is resolved on each executor, in this order:
 * <ol>
 * <li>an absolute path that is a directory there: shared storage mounted at the same place on every machine
 *     (NFS, a parallel file system, a folder baked into the image);</li>
 * <li>a path relative to where the job's files land on the executor ({@code SparkFiles.getRootDirectory()}):
 *     {@link #SHIPPED_FILES} for the files of one model shipped with {@code spark-submit --files
 *     DIR/config.json,DIR/model.safetensors} (the {@code spark.files} setting), or the name of an archive shipped
 *     with {@code spark-submit --archives based.zip#NAME} ({@code spark.archives}), which Spark unpacks there. Ship
 *     them when the application starts: Spark 4 keeps the files of each SparkSession apart, and a file added to
 *     the SparkContext later does not reach the jobs of a session created before;</li>
 * <li>a path relative to the executor's working directory (where YARN and Kubernetes unpack archives).</li>
 * </ol>
 * A spec whose folder is found nowhere fails the task with a message listing the places looked at.
 *
 * @param path the checkpoint folder as the executors see it (see above); not blank
 * @param backend the based4j backend by name ({@code cpu}, {@code cuda}, ...), or null for the executor's default
 *     ({@code based4j.backend} property, {@code BASED4J_BACKEND} variable, else the usable backend of highest
 *     priority, exactly as {@code Backends.select()})
 * @param weightFormat element type of activations, states and sums on the backend, and of the weights unless
 *     {@code weights} says otherwise: {@link DType#F32} (default) or {@link DType#F64}, the reference precision
 * @param weights how the matrices are stored, as {@link WeightFormat#parse} reads it ({@code bf16}, {@code f16},
 *     {@code int8}, {@code int8-g64}, ...), or null for {@code weightFormat} (a quantized checkpoint then loads in its
 *     own format)
 */
public record ModelSpec(String path, String backend, DType weightFormat, String weights) implements Serializable {
    /** The path of a model whose files were shipped one by one with the job ({@code spark-submit --files}). */
    public static final String SHIPPED_FILES = ".";

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException naming the field when {@code path} is blank, {@code backend} is blank but not
     *     null, {@code weightFormat} is not f32 or f64, or {@code weights} is not a weight format that fits it
     */
    public ModelSpec {
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("path: expected the model folder as the executors see it, got "
                    + (path == null ? "null" : "a blank string"));
        }
        if (backend != null && backend.isBlank()) {
            throw new IllegalArgumentException("backend: expected a backend name or null for the default, got a blank"
                    + " string");
        }
        if (weightFormat == null || !weightFormat.isCompute()) {
            throw new IllegalArgumentException("weightFormat: expected f32 or f64, got "
                    + (weightFormat == null ? "null" : weightFormat.label())
                    + (weightFormat == null ? "" : " (bf16, f16 and int8 are formats of the stored weights: withWeights)"));
        }
        if (weights != null) {
            try {
                WeightFormat.parse(weights).requireFits(weightFormat);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("weights: " + e.getMessage() + " (weightFormat "
                        + weightFormat.label() + ")", e);
            }
        }
    }

    /** @return how the matrices are stored: {@code weights} parsed, or null for the checkpoint's own choice */
    public WeightFormat storedWeights() {
        return weights == null ? null : WeightFormat.parse(weights);
    }

    /** @return the folder at {@code path}, on the executors' default backend, in F32 */
    public static ModelSpec at(String path) {
        return new ModelSpec(path, null, DType.F32, null);
    }

    /** @return a copy on the backend named {@code name} (null: the executor's default) */
    public ModelSpec onBackend(String name) {
        return new ModelSpec(path, name, weightFormat, weights);
    }

    /** @return a copy whose weights and activations are {@code format} */
    public ModelSpec withWeightFormat(DType format) {
        return new ModelSpec(path, backend, format, weights);
    }

    /**
     * @return a copy whose weights and activations are {@code format}: {@code f32} or {@code f64}, any case
     * @throws IllegalArgumentException naming the value when it is neither
     */
    public ModelSpec withWeightFormat(String format) {
        DType t;
        try {
            t = DType.parse(format);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("weightFormat: expected f32 or f64, got " + format, e);
        }
        if (!t.isCompute()) {
            throw new IllegalArgumentException("weightFormat: expected f32 or f64, got " + format);
        }
        return new ModelSpec(path, backend, t, weights);
    }

    /**
     * @return a copy whose matrices (projections, MLP, embedding and tied head) are stored as {@code format}:
     *     {@code bf16}, {@code f16}, {@code int8} (one scale per row) or {@code int8-g<N>} (per group of N inputs),
     *     converted one tensor at a time as the executor loads the model; activations and sums stay
     *     {@link #weightFormat}
     * @throws IllegalArgumentException naming the value when it is not a weight format that fits the compute type
     */
    public ModelSpec withWeights(String format) {
        return new ModelSpec(path, backend, weightFormat, format == null ? null : format.strip());
    }

    @Override
    public String toString() {
        return path + " (" + (backend == null ? "default backend" : backend) + ", " + weightFormat.label()
                + (weights == null ? "" : ", " + weights + " weights") + ")";
    }
}
