package dev.based4j.benchmarks;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.state.WindowState;
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
 * Prefill of one sliding-window attention layer's kernel: causal softmax over the last {@code lookback} tokens
 * and the token itself, {@code H} heads with query/key width {@code keyDim} (64 in the BASED models' window layers)
 * and value width {@code valueDim}, from an empty ring (fresh for each operation, outside the timing).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class SlidingWindowPrefillBenchmark extends BackendBench {
    /** Sequences. */
    @Param({"1", "8"})
    public int batch;
    /** Heads. */
    @Param("16")
    public int heads;
    /** Query/key head dimension. */
    @Param("64")
    public int keyDim;
    /** Value head dimension. */
    @Param("64")
    public int valueDim;
    /** Tokens per sequence. */
    @Param({"512", "2048", "8192"})
    public int seq;
    /** Previous tokens each query sees. */
    @Param("64")
    public int lookback;

    private SlidingWindowSpec spec;
    private Tensor q;
    private Tensor k;
    private Tensor v;
    private Tensor out;
    private WindowState state;
    private double flops;

    /** Inputs and output. */
    @Setup(Level.Trial)
    public void allocate() {
        spec = SlidingWindowSpec.of(lookback);
        q = uniform(Shape.of(batch, heads, seq, keyDim), 1);
        k = uniform(Shape.of(batch, heads, seq, keyDim), 2);
        v = uniform(Shape.of(batch, heads, seq, valueDim), 3);
        out = b.allocate(Shape.of(batch, heads, seq, valueDim), DType.F32);
        flops = Flops.window(batch, heads, 0, seq, keyDim, valueDim, lookback);
    }

    /** A fresh ring for each prompt, outside the timing. */
    @Setup(Level.Invocation)
    public void freshState() {
        if (state != null) {
            state.close();
        }
        state = WindowState.empty(b, batch, heads, keyDim, valueDim, lookback, DType.F32);
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, q, k, v, out);
    }

    /** One prompt of {@code seq} tokens per sequence. */
    @Benchmark
    public Tensor prefill(Rates rates) {
        b.slidingWindowPrefill(spec, q, k, v, state, out);
        rates.add((double) batch * seq, flops, 0);
        b.synchronize();
        return out;
    }
}
