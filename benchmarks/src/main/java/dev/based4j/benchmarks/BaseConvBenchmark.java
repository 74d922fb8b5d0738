package dev.based4j.benchmarks;

import dev.based4j.state.ConvState;
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
 * BaseConv's causal depthwise convolution over {@code channels} (2·1024 in the 360M model) with kernel 3: a
 * prompt of {@code seq} tokens and one decode step. The prompt starts from the state the previous operation left
 * (the convolution's work does not depend on it). Memory-bound: {@code gbyte} counts input and output once.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class BaseConvBenchmark extends BackendBench {
    /** Sequences. */
    @Param({"1", "8"})
    public int batch;
    /** Channels. */
    @Param("2048")
    public int channels;
    /** Taps. */
    @Param("3")
    public int kernelSize;
    /** Tokens of the prompt. */
    @Param("2048")
    public int seq;

    private Tensor weight;
    private Tensor prompt;
    private Tensor promptOut;
    private Tensor token;
    private Tensor tokenOut;
    private ConvState state;

    /** Inputs, outputs and the state. */
    @Setup(Level.Trial)
    public void allocate() {
        weight = uniform(Shape.of(channels, kernelSize), 1);
        prompt = uniform(Shape.of(batch, seq, channels), 2);
        promptOut = b.allocate(Shape.of(batch, seq, channels), DType.F32);
        token = uniform(Shape.of(batch, 1, channels), 3);
        tokenOut = b.allocate(Shape.of(batch, 1, channels), DType.F32);
        state = ConvState.zeros(b, batch, channels, kernelSize, DType.F32);
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void free() {
        closeAll(state, weight, prompt, promptOut, token, tokenOut);
    }

    /** A prompt of {@code seq} tokens per sequence. */
    @Benchmark
    public Tensor prefill(Rates rates) {
        b.causalConv(prompt, weight, state, promptOut);
        double tokens = (double) batch * seq;
        rates.add(tokens, Flops.conv((long) tokens, channels, kernelSize), 2.0 * tokens * channels * Float.BYTES);
        b.synchronize();
        return promptOut;
    }

    /** One token per sequence. */
    @Benchmark
    public Tensor decode(Rates rates) {
        b.causalConv(token, weight, state, tokenOut);
        rates.add(batch, Flops.conv(batch, channels, kernelSize),
                (2.0 * batch * channels + (double) batch * channels * kernelSize) * Float.BYTES);
        b.synchronize();
        return tokenOut;
    }
}
