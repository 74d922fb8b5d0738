package dev.based4j.benchmarks;

import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
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
 * End-to-end prefill of the 360M-shaped BASED stack ({@link BasedConfig#based360m}, seeded random weights, F32):
 * a prompt of {@code seq} embedded tokens through all 27 blocks and the final norm, from a fresh state (made
 * outside the timing). The head is left out: generation needs logits of the last position only, one decode-sized
 * product; the embedding gather is a copy. GFLOP/s count every projection, MLP and mixer ({@link Flops#stack}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class Stack360mPrefillBenchmark extends BackendBench {
    /** Sequences. */
    @Param("1")
    public int batch;
    /** Prompt tokens per sequence. */
    @Param({"512", "2048"})
    public int seq;
    /** Released window_size W (lookback W/2). */
    @Param("128")
    public int windowSize;

    private BasedModel model;
    private LayerStack.State state;
    private Tensor x;
    private double flops;

    /** The model and the embedded prompt (random hidden states at unit scale, like the embedding's rows). */
    @Setup(Level.Trial)
    public void build() {
        BasedConfig config = BasedConfig.based360m(windowSize);
        model = BasedModel.random(b, config, 42, DType.F32);
        x = b.upload(hostUniform(Shape.of(batch, seq, config.modelDim()), 5, Math.sqrt(3)));
        flops = Flops.stack(BasedModel.stackConfig(config), batch, 0, seq, 64, false);
    }

    /** A fresh state for each prompt, outside the timing. */
    @Setup(Level.Invocation)
    public void freshState() {
        if (state != null) {
            state.close();
        }
        state = model.newState(batch);
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, x, model);
    }

    /** One prompt through the blocks. */
    @Benchmark
    public void prefill(Rates rates) {
        try (Tensor h = model.stack().hidden(x, state, false)) {
            b.synchronize();
            rates.add((double) batch * seq, flops, 0);
        }
    }
}
