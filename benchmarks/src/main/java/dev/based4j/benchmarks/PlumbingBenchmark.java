package dev.based4j.benchmarks;

import dev.based4j.featuremap.Taylor;
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
 * The element-wise and small kernels of a layer on one prompt of {@code seq} tokens at the 360M shapes: the Taylor
 * feature map ({@code [1, 16, seq, 16] → 273}), RMSNorm over 1024, SiLU over 4096 and rotary on
 * {@code [1, 16, seq, 64]}. All are memory-bound: {@code gbyte} counts input and output once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class PlumbingBenchmark extends BackendBench {
    /** Tokens. */
    @Param("2048")
    public int seq;

    private static final int D_MODEL = 1024;
    private static final int HEADS = 16;
    private static final int F = 16;
    private static final int HEAD_DIM = 64;
    private static final int HIDDEN = 4096;

    private final Taylor taylor = new Taylor(F);
    private Tensor qk;
    private Tensor features;
    private Tensor hidden;
    private Tensor normWeight;
    private Tensor normOut;
    private Tensor wide;
    private Tensor wideOut;
    private Tensor heads;
    private Tensor headsOut;

    /** Inputs and outputs. */
    @Setup(Level.Trial)
    public void allocate() {
        qk = uniform(Shape.of(1, HEADS, seq, F), 1);
        features = b.allocate(Shape.of(1, HEADS, seq, taylor.outputDim()), DType.F32);
        hidden = uniform(Shape.of(1, seq, D_MODEL), 2);
        normWeight = uniform(Shape.of(D_MODEL), 3);
        normOut = b.allocate(Shape.of(1, seq, D_MODEL), DType.F32);
        wide = uniform(Shape.of(1, seq, HIDDEN), 4);
        wideOut = b.allocate(Shape.of(1, seq, HIDDEN), DType.F32);
        heads = uniform(Shape.of(1, HEADS, seq, HEAD_DIM), 5);
        headsOut = b.allocate(Shape.of(1, HEADS, seq, HEAD_DIM), DType.F32);
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(qk, features, hidden, normWeight, normOut, wide, wideOut, heads, headsOut);
    }

    /** Taylor feature map of one layer's queries (or keys). */
    @Benchmark
    public Tensor featureMap(Rates rates) {
        b.featureMap(taylor, qk, features);
        rates.add(seq, 0, (double) HEADS * seq * (F + taylor.outputDim()) * Float.BYTES);
        b.synchronize();
        return features;
    }

    /** RMSNorm of one layer's input. */
    @Benchmark
    public Tensor rmsNorm(Rates rates) {
        b.rmsNorm(hidden, normWeight, 1e-5, normOut);
        rates.add(seq, 0, 2.0 * seq * D_MODEL * Float.BYTES);
        b.synchronize();
        return normOut;
    }

    /** SiLU over the MLP's gate. */
    @Benchmark
    public Tensor silu(Rates rates) {
        b.silu(wide, wideOut);
        rates.add(seq, 0, 2.0 * seq * HIDDEN * Float.BYTES);
        b.synchronize();
        return wideOut;
    }

    /** Rotary embedding of one window layer's queries (or keys). */
    @Benchmark
    public Tensor rotary(Rates rates) {
        b.rotary(heads, 0, HEAD_DIM, 10000.0, headsOut);
        rates.add(seq, 0, 2.0 * HEADS * seq * HEAD_DIM * Float.BYTES);
        b.synchronize();
        return headsOut;
    }
}
