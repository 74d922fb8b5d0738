package dev.based4j.examples;

import dev.based4j.Backend;
import dev.based4j.opencl.OpenClDevice;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * The float32 FMA peak of this machine as Java reaches it, measured in a second or two before {@code based4j bench}
 * times anything: all threads run {@link VectorFma}'s register-only FMA chains together in rounds of about
 * {@value #ROUND_S} s, and the fastest round counts. Rounds go on until the fastest has not improved by more than
 * {@value #SETTLED_PERCENT} % for {@value #SETTLED_ROUNDS} rounds (at least {@value #MIN_ROUNDS} rounds, at most
 * {@value #MAX_SECONDS} s): the first rounds run while the JIT compiles and intrinsifies the vector operations, which
 * on a busy machine takes a while, and load from other processes only ever slows a round down, so the fastest round
 * is the closest to what the cores can do.
 *
 * <p>No point computing on this machine's CPU cores can run faster than this: a bench point whose achieved GFLOP/s
 * exceeds it is timed wrongly (the clock was read before the device finished) or counts work it does not do, and is
 * flagged rather than reported as a result. The peak bounds only backends that compute on the host's cores
 * ({@link #bounds}); a GPU's throughput is not bounded by its host's.
 */
final class MachinePeak {
    /** Seconds one round takes, about. */
    static final double ROUND_S = 0.05;
    /** Fewest rounds. */
    static final int MIN_ROUNDS = 10;
    /** Rounds without a gain of more than {@link #SETTLED_PERCENT} % after which the fastest counts. */
    static final int SETTLED_ROUNDS = 6;
    /** A gain below this many percent is no gain. */
    static final int SETTLED_PERCENT = 2;
    /** Seconds after which the fastest round so far counts, settled or not. */
    static final double MAX_SECONDS = 6.0;
    /** The most threads accepted: four per processor (more only contend). */
    static final int MAX_THREADS_PER_PROCESSOR = 4;
    /** The module the loop needs. */
    static final String VECTOR_MODULE = "jdk.incubator.vector";

    /** The sum of every chain's result, kept so that no loop is dead code. */
    private static volatile double result;

    private MachinePeak() {}

    /** A loop of register-only FMAs ({@link VectorFma}). */
    interface FmaLoop {
        /** @return float lanes per vector */
        int lanes();

        /** @return floating-point operations of one {@link #call()}, two per lane per FMA */
        double flopsPerCall();

        /** Runs the chains once; the result keeps the compiler from dropping them. */
        float call();
    }

    /**
     * A measured peak.
     *
     * @param gflops floating-point operations per second of all threads together, in units of 10⁹
     * @param threads threads that ran the loop at once
     * @param lanes float lanes per vector ({@code 8} with AVX2)
     * @param rounds rounds run, of which the fastest counts
     */
    record Peak(double gflops, int threads, int lanes, int rounds) {
        /** @return e.g. {@code 165.3 GFLOP/s (float32 FMA, 2 threads, 8 lanes, fastest of 14 rounds)} */
        String describe() {
            return String.format(Locale.ROOT, "%.1f GFLOP/s (float32 FMA, %d threads, %d lanes, fastest of %d rounds)",
                    gflops, threads, lanes, rounds);
        }
    }

    /**
     * Measures the peak on {@code threads} threads.
     *
     * @return the peak, or empty when {@code jdk.incubator.vector} is not in the boot layer (run the JVM with
     *     {@code --add-modules jdk.incubator.vector}, as the {@code based4j} launcher does) or the measuring thread
     *     was interrupted (its interrupt flag is set again)
     * @throws IllegalArgumentException naming {@code threads} when it is not in 1..4·processors
     */
    static Optional<Peak> measure(int threads) {
        int max = MAX_THREADS_PER_PROCESSOR * Runtime.getRuntime().availableProcessors();
        if (threads < 1 || threads > max) {
            throw new IllegalArgumentException("threads: expected 1.." + max + ", got " + threads);
        }
        Optional<FmaLoop> loaded = load();
        if (loaded.isEmpty()) {
            return Optional.empty();
        }
        FmaLoop loop = loaded.get();
        DoubleAdder sink = new DoubleAdder();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "based4j-peak");
            t.setDaemon(true);
            return t;
        });
        long roundNanos = (long) (ROUND_S * 1e9);
        long start = System.nanoTime();
        try {
            double best = 0;
            int rounds = 0;
            int sinceGain = 0;
            while (rounds < MIN_ROUNDS
                    || (sinceGain < SETTLED_ROUNDS && System.nanoTime() - start < (long) (MAX_SECONDS * 1e9))) {
                long[] timed = round(pool, threads, deadline -> {
                    long n = 0;
                    float s = 0;
                    do {
                        s += loop.call();
                        n++;
                    } while (System.nanoTime() < deadline);
                    sink.add(s);
                    return n;
                }, roundNanos);
                rounds++;
                double gflops = timed[0] * loop.flopsPerCall() / timed[1];
                if (gflops > best * (1 + SETTLED_PERCENT / 100.0)) {
                    sinceGain = 0;
                } else {
                    sinceGain++;
                }
                best = Math.max(best, gflops);
            }
            // published, so that the chains' results are used and the loops cannot be dropped
            result = sink.sum();
            return Optional.of(new Peak(best, threads, loop.lanes(), rounds));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } finally {
            pool.shutdownNow();
        }
    }

    /** The work of one thread in one round: calls until {@code deadline} ({@link System#nanoTime()}). */
    private interface Work {
        long run(long deadline);
    }

    /**
     * Runs {@code work} on {@code threads} threads released together, each until {@code nanos} after the release.
     *
     * @return the calls all threads made, and the nanoseconds from the release until the last one finished
     */
    private static long[] round(ExecutorService pool, int threads, Work work, long nanos) throws InterruptedException {
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(threads);
        long[] calls = new long[threads];
        long[] release = new long[1];
        for (int t = 0; t < threads; t++) {
            int index = t;
            pool.execute(() -> {
                ready.countDown();
                try {
                    go.await();
                    calls[index] = work.run(release[0] + nanos);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            });
        }
        ready.await();
        release[0] = System.nanoTime();
        go.countDown();
        done.await();
        long elapsed = System.nanoTime() - release[0];
        long total = 0;
        for (long c : calls) {
            total += c;
        }
        return new long[] {total, elapsed};
    }

    /** @return the vector loop, when the Vector API is in the boot layer */
    private static Optional<FmaLoop> load() {
        if (ModuleLayer.boot().findModule(VECTOR_MODULE).isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of((FmaLoop) Class.forName(MachinePeak.class.getPackageName() + ".VectorFma")
                    .getDeclaredConstructor().newInstance());
        } catch (ReflectiveOperationException | LinkageError e) {
            return Optional.empty();
        }
    }

    /**
     * Whether this machine's CPU peak bounds what {@code backend} can compute: true for the backends that compute on
     * the host's cores ({@code cpu}, {@code onnx} with ONNX Runtime's CPU provider, {@code opencl} on a device of
     * type CPU such as PoCL); false for GPUs ({@code cuda}, {@code onnx-cuda}, {@code opencl} on a GPU) and for
     * backends based4j does not know.
     */
    static boolean bounds(Backend backend) {
        return switch (backend.name()) {
            case "cpu", "onnx" -> true;
            case "opencl" -> openClDeviceType(backend).map("CPU"::equals).orElse(false);
            default -> false;
        };
    }

    private static Optional<String> openClDeviceType(Backend backend) {
        try {
            return backend.unwrap(OpenClDevice.class).map(OpenClDevice::type);
        } catch (LinkageError e) {
            // a backend named opencl that is not based4j's (its module absent): unknown
            return Optional.empty();
        }
    }
}
