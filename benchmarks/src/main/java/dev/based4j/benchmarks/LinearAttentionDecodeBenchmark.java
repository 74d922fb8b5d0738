package dev.based4j.benchmarks;

import dev.based4j.attention.LinearAttentionSpec;
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
 * One decode step of one linear-attention layer's kernel for {@code batch} sequences: per head, the state
 * ({@code dv×273} and the 273-wide normaliser) absorbs the token and is read out. The state first takes a prompt
 * of 64 tokens, so it is not zero. {@code gbyte} counts the state read and written once per step: the least a
 * step moves when the state does not stay in cache (at {@code batch = 8} it is 8.9 MB, more than L2).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class LinearAttentionDecodeBenchmark extends BackendBench {
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

    private static final int PROMPT = 64;

    private LinearAttentionSpec spec;
    private Tensor q;
    private Tensor k;
    private Tensor v;
    private Tensor out;
    private LinearAttentionState state;
    private double flops;
    private double bytes;

    /** Inputs, output and a state after a short prompt. */
    @Setup(Level.Trial)
    public void allocate() {
        spec = LinearAttentionSpec.of(new Taylor(featureDim));
        state = LinearAttentionState.zeros(b, batch, heads, spec.expandedDim(), valueDim, DType.F32);
        try (Tensor pq = uniform(Shape.of(batch, heads, PROMPT, featureDim), 11);
                Tensor pk = uniform(Shape.of(batch, heads, PROMPT, featureDim), 12);
                Tensor pv = uniform(Shape.of(batch, heads, PROMPT, valueDim), 13);
                Tensor po = b.linearAttentionPrefill(spec, pq, pk, pv, state)) {
            // the prompt's output is not needed: only the state it leaves
        }
        q = uniform(Shape.of(batch, heads, 1, featureDim), 1);
        k = uniform(Shape.of(batch, heads, 1, featureDim), 2);
        v = uniform(Shape.of(batch, heads, 1, valueDim), 3);
        out = b.allocate(Shape.of(batch, heads, 1, valueDim), DType.F32);
        flops = Flops.linearDecode(batch, heads, featureDim, valueDim);
        bytes = 2.0 * batch * heads * spec.expandedDim() * (valueDim + 1) * Float.BYTES;
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, q, k, v, out);
    }

    /** One token per sequence. */
    @Benchmark
    public Tensor decode(Rates rates) {
        b.linearAttentionDecode(spec, q, k, v, state, out);
        rates.add(batch, flops, bytes);
        b.synchronize();
        return out;
    }
}
