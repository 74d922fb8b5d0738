package dev.based4j.benchmarks;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The secondary results of a benchmark, as JMH auxiliary counters: each field sums a quantity over the
 * operations of one iteration, and JMH divides it by the iteration's time, so with the benchmarks' unit (seconds)
 * {@code tokens} reads as tokens/s, {@code gflop} as GFLOP/s and {@code gbyte} as GB/s. A counter a benchmark
 * does not feed stays 0.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class Rates {
    /** Tokens processed (all sequences of the batch). */
    public double tokens;
    /** Floating-point operations in units of 10⁹, counted by {@link Flops}. */
    public double gflop;
    /** Bytes moved in units of 10⁹: the least a memory-bound step must read and write. */
    public double gbyte;

    /** Counters start at 0 each iteration (JMH leaves resetting to the benchmark). */
    @Setup(Level.Iteration)
    public void reset() {
        tokens = 0;
        gflop = 0;
        gbyte = 0;
    }

    /** Records one operation. */
    public void add(double tokenCount, double flops, double bytes) {
        tokens += tokenCount;
        gflop += flops * 1e-9;
        gbyte += bytes * 1e-9;
    }
}
