package dev.based4j.benchmarks;

import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.layer.DecodePlan;
import dev.based4j.layer.LayerStack;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.WeightFormat;
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
 * {@code gbyte} counts every weight read once per step (1.45 GB in f32, 0.73 GB in bf16 or f16, 0.37 GB in int8
 * with its scales: {@link BasedModel#weightBytes()}), so it reads as the achieved weight-streaming rate; the bound is
 * the weight bytes over the machine's read bandwidth ({@code benchmarks/c/bandwidth_anchor.c}, or
 * {@link TriadBenchmark}). {@code -p weights=f32,bf16,f16,int8} stores the matrices in each format; the setup prints
 * the resident memory after the load against the weight bytes. {@code -p planned=true} (the default) decodes through a
 * {@link DecodePlan}, as {@code Generator} does; {@code false} calls {@link BasedModel#decode} eagerly (validation and
 * allocation every step).
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
    /** How the matrices are stored: f32, bf16, f16, int8 or int8-g&lt;N&gt; ({@link WeightFormat#parse}). */
    @Param("f32")
    public String weights;
    /** Whether each step replays a plan ({@link BasedModel#planDecode}) or runs eagerly. */
    @Param("true")
    public boolean planned;

    private static final int PROMPT = 16;

    private BasedModel model;
    private LayerStack.State state;
    private DecodePlan plan;
    private int[] ids;
    private HostTensor logits;
    private double flops;
    private double bytes;

    /** The model, a state after a short prompt, and the next tokens. */
    @Setup(Level.Trial)
    public void build() {
        BasedConfig config = BasedConfig.based360m(windowSize);
        long before = residentBytes();
        model = BasedModel.random(b, config, 42, DType.F32, WeightFormat.parse(weights));
        settle();
        long after = residentBytes();
        System.out.printf("%n[%s weights] %.1f MB of weights; resident memory %.1f MB after the load (%.1f MB before,"
                + " %.2f x the weight bytes added)%n", weights, model.weightBytes() / 1e6, after / 1e6, before / 1e6,
                (double) (after - before) / model.weightBytes());
        state = model.newState(batch);
        SplittableRandom r = new SplittableRandom(7);
        int vocab = config.paddedVocabSize();
        int[] prompt = r.ints((long) batch * PROMPT, 0, vocab).toArray();
        try (Tensor t = model.prefill(prompt, batch, PROMPT, state)) {
            // only the state it leaves is needed
        }
        ids = r.ints(batch, 0, vocab).toArray();
        plan = planned ? model.planDecode(state) : null;
        logits = HostTensor.allocate(Shape.of(batch, 1, vocab), DType.F32);
        flops = Flops.stack(BasedModel.stackConfig(config), batch, PROMPT, 1, 64, true);
        bytes = model.weightBytes();
    }

    /** Collects garbage and gives the cleaners of freed native memory time to run, twice. */
    private static void settle() {
        for (int i = 0; i < 2; i++) {
            System.gc();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** @return VmRSS of this process in bytes (Linux), or -1 */
    static long residentBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** Frees the model and the state. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(plan, state, model);
    }

    /** One token per sequence, logits to the host. */
    @Benchmark
    public HostTensor decode(Rates rates) {
        if (plan != null) {
            b.download(plan.step(ids), logits);
        } else {
            try (Tensor t = model.decode(ids, state)) {
                b.download(t, logits);
            }
        }
        rates.add(batch, flops, bytes);
        b.synchronize();
        return logits;
    }
}
