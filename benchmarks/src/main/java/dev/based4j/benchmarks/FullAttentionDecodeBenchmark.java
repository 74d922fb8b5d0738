package dev.based4j.benchmarks;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.state.StateSnapshot;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;
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
 * One decode step of full causal softmax attention at a context of {@code context} tokens: the query attends to
 * all {@code context} earlier tokens and itself, {@code H} heads of width {@code headDim}. To hold the context
 * fixed over millions of steps, the KV cache is a full ring of {@code context + 1} slots with lookback
 * {@code context}: the same kernel and the same work as unbounded attention at that length, without the cache
 * growing during the measurement ({@code based4j bench} runs the growing cache). The cache starts filled with
 * seeded random keys and values (restored from a snapshot, so no quadratic prefill is needed first).
 * {@code gbyte} counts the cache read once per step: decode at long context is bound by memory bandwidth.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class FullAttentionDecodeBenchmark extends BackendBench {
    /** Sequences. */
    @Param({"1", "8"})
    public int batch;
    /** Heads. */
    @Param("16")
    public int heads;
    /** Query/key and value head dimension. */
    @Param("64")
    public int headDim;
    /** Earlier tokens each step attends to. */
    @Param({"1024", "4096", "16384"})
    public int context;

    private SlidingWindowSpec spec;
    private Tensor q;
    private Tensor k;
    private Tensor v;
    private Tensor out;
    private WindowState state;
    private double flops;
    private double bytes;

    /** Inputs, output and a filled cache. */
    @Setup(Level.Trial)
    public void allocate() {
        spec = SlidingWindowSpec.of(context);
        Shape cache = Shape.of(batch, heads, context + 1, headDim);
        StateSnapshot filled = new StateSnapshot(StateSnapshot.Kind.WINDOW, 2L * (context + 1),
                List.of(new StateSnapshot.Meta("lookback", context)),
                List.of(new StateSnapshot.Entry("keys", hostUniform(cache, 21, 1.0)),
                        new StateSnapshot.Entry("values", hostUniform(cache, 22, 1.0))));
        state = WindowState.restore(b, filled, DType.F32);
        q = uniform(Shape.of(batch, heads, 1, headDim), 1);
        k = uniform(Shape.of(batch, heads, 1, headDim), 2);
        v = uniform(Shape.of(batch, heads, 1, headDim), 3);
        out = b.allocate(Shape.of(batch, heads, 1, headDim), DType.F32);
        flops = (double) batch * heads * (context + 1) * 2.0 * (2 * headDim);
        bytes = (double) batch * heads * (context + 1) * 2.0 * headDim * Float.BYTES;
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
