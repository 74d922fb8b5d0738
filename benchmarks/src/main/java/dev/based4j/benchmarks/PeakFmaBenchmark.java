package dev.based4j.benchmarks;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's float32 FMA peak as Java reaches it: {@link FloatVector#fma} of the preferred species (256 bits
 * with AVX2, 512 with AVX-512) on {@value #CHAINS} independent accumulators, enough to cover the FMA latency of two
 * pipes, and few enough to stay in the 16 registers of AVX2. Nothing is loaded from memory. {@code gflop} is the
 * peak every kernel's GFLOP/s is compared with; run on one thread and on two.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class PeakFmaBenchmark {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Independent dependency chains. */
    static final int CHAINS = 12;
    /** Steps of every chain per operation. */
    static final int STEPS = 4096;
    /** FLOPs of one operation: two per lane per FMA. */
    static final double FLOPS = 2.0 * CHAINS * STEPS * SPECIES.length();

    // fields, not constants, so the compiler cannot fold the chains; a·x + c converges to c/(1-x) without overflow
    private float multiplier = 0.999f;
    private float addend = 0.001f;

    /** One thread. */
    @Benchmark
    @Threads(1)
    public float oneThread(Rates rates) {
        rates.add(0, FLOPS, 0);
        return chains();
    }

    /** Two threads, each with its own chains. */
    @Benchmark
    @Threads(2)
    public float twoThreads(Rates rates) {
        rates.add(0, FLOPS, 0);
        return chains();
    }

    private float chains() {
        FloatVector x = FloatVector.broadcast(SPECIES, multiplier);
        FloatVector c = FloatVector.broadcast(SPECIES, addend);
        FloatVector a0 = FloatVector.broadcast(SPECIES, 0.10f);
        FloatVector a1 = FloatVector.broadcast(SPECIES, 0.11f);
        FloatVector a2 = FloatVector.broadcast(SPECIES, 0.12f);
        FloatVector a3 = FloatVector.broadcast(SPECIES, 0.13f);
        FloatVector a4 = FloatVector.broadcast(SPECIES, 0.14f);
        FloatVector a5 = FloatVector.broadcast(SPECIES, 0.15f);
        FloatVector a6 = FloatVector.broadcast(SPECIES, 0.16f);
        FloatVector a7 = FloatVector.broadcast(SPECIES, 0.17f);
        FloatVector a8 = FloatVector.broadcast(SPECIES, 0.18f);
        FloatVector a9 = FloatVector.broadcast(SPECIES, 0.19f);
        FloatVector a10 = FloatVector.broadcast(SPECIES, 0.20f);
        FloatVector a11 = FloatVector.broadcast(SPECIES, 0.21f);
        for (int i = 0; i < STEPS; i++) {
            a0 = a0.fma(x, c);
            a1 = a1.fma(x, c);
            a2 = a2.fma(x, c);
            a3 = a3.fma(x, c);
            a4 = a4.fma(x, c);
            a5 = a5.fma(x, c);
            a6 = a6.fma(x, c);
            a7 = a7.fma(x, c);
            a8 = a8.fma(x, c);
            a9 = a9.fma(x, c);
            a10 = a10.fma(x, c);
            a11 = a11.fma(x, c);
        }
        FloatVector sum = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10)
                .add(a11);
        return sum.reduceLanes(VectorOperators.ADD);
    }
}
