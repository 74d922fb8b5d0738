/**
 * JMH benchmarks of based4j. Kernel benchmarks ({@code *Benchmark}) report, besides JMH's operations per second,
 * three counters of {@link dev.based4j.benchmarks.Rates}: {@code tokens} (tokens/s), {@code gflop} (GFLOP/s with
 * FLOPs counted by {@link dev.based4j.benchmarks.Flops}, the 273-dimensional formula) and {@code gbyte} (GB/s of
 * the bytes a memory-bound step must move at least). {@link dev.based4j.benchmarks.PeakFmaBenchmark} and
 * {@link dev.based4j.benchmarks.TriadBenchmark} measure the machine itself.
 */
package dev.based4j.benchmarks;
