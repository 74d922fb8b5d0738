/**
 * based4j on Apache Spark: {@link dev.based4j.spark.BasedGeneration} and {@link dev.based4j.spark.BasedScoring} turn a
 * column of prompts into generated text or log-likelihoods, as Dataset transformations or SQL functions, with the
 * model of a {@link dev.based4j.spark.ModelSpec} loaded once per executor JVM.
 *
 * <h2>Determinism</h2>
 * A row's result is a function of its prompt, its seed and the model, not of the partition it lands in or the rows
 * batched with it: each row samples from its own seeded generator, prompts of equal length share a recurrent state
 * without padding (so every row sees exactly its own positions), and a task that Spark retries rebuilds the same
 * batches from the same rows. What remains is the backend's rounding: a backend may compute a row's logits with a
 * different summation order when the batch has more or fewer rows. The CPU backend's float64 path does not (rows are
 * computed independently), so with weight format {@code f64} results are identical whatever the partitioning. Its
 * float32 path chooses kernels by the number of rows, so a row's logits in another batch can differ in the last
 * bits (about 1e-5 relative); scores then agree to that tolerance, and a generated token can differ only where two
 * candidates' logits tie within it. Same partitioning, same results holds in every precision (reruns and retries).
 * For bit-identical float32 results across partitionings, use batch size 1.
 *
 * <h2>Class path, not module path</h2>
 * This module has no {@code module-info}: Spark runs applications on the class path, and its jars have no module
 * names ({@code spark-sql_2.13} would derive the invalid {@code spark.sql.2.13}), so no named module can require it.
 * The jar's manifest names it {@code dev.based4j.spark}.
 */
package dev.based4j.spark;
