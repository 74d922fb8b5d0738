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
 * One decode step of the fused linear-plus-window layer's kernel, after a prompt longer than the window (so keys
 * leave the ring into the linear state at every step). {@code gbyte} counts the linear state read and written
 * and the ring read once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class FusedDecodeBenchmark extends BackendBench {
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
    private double bytes;

    /** Inputs, output and a state after a prompt. */
    @Setup(Level.Trial)
    public void allocate() {
        spec = BasedAttentionSpec.of(new Taylor(featureDim), lookback);
        int d = (int) Flops.taylorDim(featureDim);
        state = BasedAttentionState.empty(b, batch, heads, featureDim, d, valueDim, lookback, DType.F32);
        int prompt = 2 * (lookback + 1);
        try (Tensor pq = uniform(Shape.of(batch, heads, prompt, featureDim), 11);
                Tensor pk = uniform(Shape.of(batch, heads, prompt, featureDim), 12);
                Tensor pv = uniform(Shape.of(batch, heads, prompt, valueDim), 13);
                Tensor po = b.basedAttentionPrefill(spec, pq, pk, pv, state)) {
            // only the state it leaves is needed
        }
        q = uniform(Shape.of(batch, heads, 1, featureDim), 1);
        k = uniform(Shape.of(batch, heads, 1, featureDim), 2);
        v = uniform(Shape.of(batch, heads, 1, valueDim), 3);
        out = b.allocate(Shape.of(batch, heads, 1, valueDim), DType.F32);
        flops = Flops.fused(batch, heads, prompt, 1, featureDim, valueDim, lookback);
        bytes = (double) batch * heads * (2.0 * d * (valueDim + 1) + (lookback + 1.0) * (featureDim + valueDim))
                * Float.BYTES;
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, q, k, v, out);
    }

    /** One token per sequence. */
    @Benchmark
    public Tensor decode(Rates rates) {
        b.basedAttentionDecode(spec, q, k, v, state, out);
        rates.add(batch, flops, bytes);
        b.synchronize();
        return out;
    }
}
