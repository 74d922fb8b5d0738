package dev.based4j.benchmarks;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Memory bandwidth as STREAM's triad measures it, {@code a[i] = b[i] + s·c[i]} over float arrays far larger than
 * the last-level cache ({@code elements} floats each, 64 MiB by default), with the Vector API. {@code gbyte}
 * counts STREAM's 12 bytes per element (two reads, one write; the write-allocate read is not counted), the figure
 * a weight-streaming bound divides by. Each thread has its own arrays.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {Forks.VECTOR, Forks.NATIVE, Forks.HEAP})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
public class TriadBenchmark {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    /** Floats per array. */
    @Param("16777216")
    public int elements;

    private float[] a;
    private float[] b;
    private float[] c;
    private final float scalar = 3.0f;

    /** The arrays, touched once so their pages exist before the timing. */
    @Setup(Level.Trial)
    public void allocate() {
        a = new float[elements];
        b = new float[elements];
        c = new float[elements];
        java.util.Arrays.fill(b, 1.0f);
        java.util.Arrays.fill(c, 2.0f);
    }

    /** One thread. */
    @Benchmark
    @Threads(1)
    public float oneThread(Rates rates) {
        return triad(rates);
    }

    /** Two threads. */
    @Benchmark
    @Threads(2)
    public float twoThreads(Rates rates) {
        return triad(rates);
    }

    private float triad(Rates rates) {
        int n = elements;
        int bound = SPECIES.loopBound(n);
        FloatVector s = FloatVector.broadcast(SPECIES, scalar);
        int i = 0;
        for (; i < bound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, c, i).fma(s, FloatVector.fromArray(SPECIES, b, i)).intoArray(a, i);
        }
        for (; i < n; i++) {
            a[i] = b[i] + scalar * c[i];
        }
        rates.add(0, 2.0 * n, 12.0 * n);
        return a[n - 1];
    }
}
