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
 * One decode step of one sliding-window attention layer's kernel with a full ring: each query sees
 * {@code lookback} earlier tokens and itself. {@code gbyte} counts the ring's keys and values read once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class SlidingWindowDecodeBenchmark extends BackendBench {
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
    private double bytes;

    /** Inputs, output and a ring filled by a prompt longer than the window. */
    @Setup(Level.Trial)
    public void allocate() {
        spec = SlidingWindowSpec.of(lookback);
        state = WindowState.empty(b, batch, heads, keyDim, valueDim, lookback, DType.F32);
        int prompt = 2 * (lookback + 1);
        try (Tensor pq = uniform(Shape.of(batch, heads, prompt, keyDim), 11);
                Tensor pk = uniform(Shape.of(batch, heads, prompt, keyDim), 12);
                Tensor pv = uniform(Shape.of(batch, heads, prompt, valueDim), 13);
                Tensor po = b.slidingWindowPrefill(spec, pq, pk, pv, state)) {
            // only the ring it leaves is needed
        }
        q = uniform(Shape.of(batch, heads, 1, keyDim), 1);
        k = uniform(Shape.of(batch, heads, 1, keyDim), 2);
        v = uniform(Shape.of(batch, heads, 1, valueDim), 3);
        out = b.allocate(Shape.of(batch, heads, 1, valueDim), DType.F32);
        flops = Flops.window(batch, heads, prompt, 1, keyDim, valueDim, lookback);
        bytes = (double) batch * heads * (lookback + 1) * (keyDim + valueDim) * Float.BYTES;
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, q, k, v, out);
    }

    /** One token per sequence. */
    @Benchmark
    public Tensor decode(Rates rates) {
        b.slidingWindowDecode(spec, q, k, v, state, out);
        rates.add(batch, flops, bytes);
        b.synchronize();
        return out;
    }
}
