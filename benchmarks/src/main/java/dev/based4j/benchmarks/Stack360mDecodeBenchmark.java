package dev.based4j.benchmarks;

import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.layer.LayerStack;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.SplittableRandom;
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
 * End-to-end decode of the 360M-shaped BASED model ({@link BasedConfig#based360m}: 27 layers of width 1024, the
 * released interleaving of BaseConv, linear attention and sliding window, tied head over 50264 tokens) with
 * seeded random weights, F32: one token per sequence through embedding, every block, the final norm and the head,
 * with the logits copied to the host as generation needs them. The state first takes a 16-token prompt.
 * {@code gbyte} counts every weight read once per step (1.45 GB), so it reads as the achieved weight-streaming
 * rate; the bound is the weight bytes over {@link TriadBenchmark}'s bandwidth.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class Stack360mDecodeBenchmark extends BackendBench {
    /** Sequences decoded together. */
    @Param({"1", "8"})
    public int batch;
    /** Released window_size W (lookback W/2). */
    @Param("128")
    public int windowSize;

    private static final int PROMPT = 16;

    private BasedModel model;
    private LayerStack.State state;
    private int[] ids;
    private HostTensor logits;
    private double flops;
    private double bytes;

    /** The model, a state after a short prompt, and the next tokens. */
    @Setup(Level.Trial)
    public void build() {
        BasedConfig config = BasedConfig.based360m(windowSize);
        model = BasedModel.random(b, config, 42, DType.F32);
        state = model.newState(batch);
        SplittableRandom r = new SplittableRandom(7);
        int vocab = config.paddedVocabSize();
        int[] prompt = r.ints((long) batch * PROMPT, 0, vocab).toArray();
        try (Tensor t = model.prefill(prompt, batch, PROMPT, state)) {
            // only the state it leaves is needed
        }
        ids = r.ints(batch, 0, vocab).toArray();
        logits = HostTensor.allocate(Shape.of(batch, 1, vocab), DType.F32);
        flops = Flops.stack(BasedModel.stackConfig(config), batch, PROMPT, 1, 64, true);
        bytes = config.weightShapes().values().stream().mapToDouble(s -> (double) s.elementCount()).sum() * Float.BYTES;
    }

    /** Frees the model and the state. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, model);
    }

    /** One token per sequence, logits to the host. */
    @Benchmark
    public HostTensor decode(Rates rates) {
        try (Tensor t = model.decode(ids, state)) {
            b.download(t, logits);
        }
        rates.add(batch, flops, bytes);
        b.synchronize();
        return logits;
    }
}
