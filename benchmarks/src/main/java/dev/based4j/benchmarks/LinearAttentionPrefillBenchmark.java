package dev.based4j.benchmarks;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.Taylor;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Prefill of one linear-attention layer's kernel (Taylor map, {@code H} heads of {@code f} → 273 features and
 * {@code dv} values) over {@code seq} tokens from an empty state, in the chunked and the quadratic form. Each
 * operation starts from a fresh state (allocated outside the timing), as a prompt does. GFLOP/s count the form's
 * own work ({@link Flops#linearChunked}, {@link Flops#linearQuadratic}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class LinearAttentionPrefillBenchmark extends BackendBench {
    /** Sequences. */
    @Param({"1", "8"})
    public int batch;
    /** Heads. */
    @Param("16")
    public int heads;
    /** Query/key head dimension (Taylor input). */
    @Param("16")
    public int featureDim;
    /** Value head dimension. */
    @Param("64")
    public int valueDim;
    /** Tokens per sequence. */
    @Param({"512", "2048", "8192"})
    public int seq;
    /** CHUNKED or QUADRATIC. */
    @Param({"CHUNKED", "QUADRATIC"})
    public PrefillAlgorithm algorithm;
    /** Tokens per chunk of the chunked form. */
    @Param("64")
    public int chunk;

    private LinearAttentionSpec spec;
    private Tensor q;
    private Tensor k;
    private Tensor v;
    private Tensor out;
    private LinearAttentionState state;
    private double flops;

    /** Inputs and output. */
    @Setup(Level.Trial)
    public void allocate() {
        spec = LinearAttentionSpec.of(new Taylor(featureDim)).withAlgorithm(algorithm).withChunkSize(chunk);
        q = uniform(Shape.of(batch, heads, seq, featureDim), 1);
        k = uniform(Shape.of(batch, heads, seq, featureDim), 2);
        v = uniform(Shape.of(batch, heads, seq, valueDim), 3);
        out = b.allocate(Shape.of(batch, heads, seq, valueDim), DType.F32);
        flops = algorithm == PrefillAlgorithm.QUADRATIC
                ? Flops.linearQuadratic(batch, heads, seq, featureDim, valueDim)
                : Flops.linearChunked(batch, heads, seq, featureDim, valueDim, chunk);
    }

    /** A fresh (zero) state for each prompt, outside the timing. */
    @Setup(Level.Invocation)
    public void freshState() {
        if (state != null) {
            state.close();
        }
        state = LinearAttentionState.zeros(b, batch, heads, spec.expandedDim(), valueDim, DType.F32);
    }

    /** Frees the state. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, q, k, v, out);
    }

    /** One prompt of {@code seq} tokens per sequence. */
    @Benchmark
    public Tensor prefill(Rates rates) {
        b.linearAttentionPrefill(spec, q, k, v, state, out);
        rates.add((double) batch * seq, flops, 0);
        b.synchronize();
        return out;
    }
}
