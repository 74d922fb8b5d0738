package dev.based4j.benchmarks;

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
 * The projection kernel {@code out = x·Wᵀ} with a weight stored {@code [out, in]}, at the 360M model's widest
 * shape (1024 → 4096: BaseConv's input projection, half of the MLP's first): {@code rows = 1, 8} are decode steps
 * (bound by streaming the weight: {@code gbyte} counts it once), {@code rows = 2048} a prompt (bound by FMAs).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class MatmulBenchmark extends BackendBench {
    /** Rows of x (tokens of all sequences). */
    @Param({"1", "8", "2048"})
    public int rows;
    /** Input width. */
    @Param("1024")
    public int in;
    /** Output width. */
    @Param("4096")
    public int out;

    private Tensor x;
    private Tensor weight;
    private Tensor y;

    /** Inputs and output. */
    @Setup(Level.Trial)
    public void allocate() {
        x = uniform(Shape.of(rows, in), 1);
        weight = uniform(Shape.of(out, in), 2);
        y = b.allocate(Shape.of(rows, out), DType.F32);
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(x, weight, y);
    }

    /** One product. */
    @Benchmark
    public Tensor linear(Rates rates) {
        b.linear(x, weight, null, y);
        rates.add(rows, Flops.linear(rows, in, out), ((double) in * out + (double) rows * (in + out)) * Float.BYTES);
        b.synchronize();
        return y;
    }
}
