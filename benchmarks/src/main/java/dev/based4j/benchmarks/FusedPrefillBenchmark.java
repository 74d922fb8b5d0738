package dev.based4j.benchmarks;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.state.BasedAttentionState;
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
 * Prefill of the fused linear-plus-window layer's kernel ({@code sdk-conventions.md}): exact softmax over the last
 * {@code lookback} tokens and linear attention (Taylor, 273 features) over the rest, one normaliser; from an empty
 * state (fresh for each operation, outside the timing).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class FusedPrefillBenchmark extends BackendBench {
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
    /** Previous tokens of the exact window. */
    @Param("64")
    public int lookback;

    private BasedAttentionSpec spec;
    private Tensor q;
    private Tensor k;
    private Tensor v;
    private Tensor out;
    private BasedAttentionState state;
    private double flops;

    /** Inputs and output. */
    @Setup(Level.Trial)
    public void allocate() {
        spec = BasedAttentionSpec.of(new Taylor(featureDim), lookback);
        q = uniform(Shape.of(batch, heads, seq, featureDim), 1);
        k = uniform(Shape.of(batch, heads, seq, featureDim), 2);
        v = uniform(Shape.of(batch, heads, seq, valueDim), 3);
        out = b.allocate(Shape.of(batch, heads, seq, valueDim), DType.F32);
        flops = Flops.fused(batch, heads, 0, seq, featureDim, valueDim, lookback);
    }

    /** A fresh state for each prompt, outside the timing. */
    @Setup(Level.Invocation)
    public void freshState() {
        if (state != null) {
            state.close();
        }
        state = BasedAttentionState.empty(b, batch, heads, featureDim, (int) Flops.taylorDim(featureDim), valueDim,
                lookback, DType.F32);
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, q, k, v, out);
    }

    /** One prompt of {@code seq} tokens per sequence. */
    @Benchmark
    public Tensor prefill(Rates rates) {
        b.basedAttentionPrefill(spec, q, k, v, state, out);
        rates.add((double) batch * seq, flops, 0);
        b.synchronize();
        return out;
    }
}
