package dev.based4j.opencl.timing;

import dev.based4j.Backends;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.Backend;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Supplier;

/**
 * A plain timing harness (not a test, not JMH: the project's {@code benchmarks} module does not exist yet) for
 * the OpenCL kernels at the shapes of the CPU benchmarks (H = 16, f = 16, dv = 64, F32; the window kernels with
 * head dimension 64 and lookback 64, the fused layer with lookback 64), run on every backend
 * named on the command line, interleaved so that both see the same machine load. Prints one line per
 * measurement: the median of repeated runs after warm-up.
 *
 * <p>Run (with each backend's classes on the class path, e.g. after {@code ./mvnw package}):
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp ... \
 * dev.based4j.opencl.timing.KernelTiming opencl cpu}
 */
public final class KernelTiming {
    private KernelTiming() {}

    private static final int HEADS = 16;
    private static final int F = 16;
    private static final int DV = 64;
    private static final DType DTYPE = DType.F32;
    private static final double SECONDS = Double.parseDouble(System.getProperty("timing.seconds", "3"));

    public static void main(String[] args) {
        List<String> names = args.length == 0 ? List.of("opencl") : Arrays.asList(args);
        List<Backend> backends = new ArrayList<>();
        for (String n : names) {
            Backend b = Backends.select(n);
            System.out.println("# " + n + ": " + b.device());
            backends.add(b);
        }
        String only = System.getProperty("timing.only", "");
        List<Case> cases = new ArrayList<>();
        for (int batch : new int[] {1, 8}) {
            for (int seq : new int[] {512, 2048, 8192}) {
                if (batch * seq <= 16384) {
                    cases.add(new Case("linear-prefill", batch, seq));
                }
            }
            cases.add(new Case("linear-decode", batch, 1));
            cases.add(new Case("window-prefill", batch, 2048));
            cases.add(new Case("window-decode", batch, 1));
            cases.add(new Case("based-prefill", batch, 2048));
            cases.add(new Case("based-decode", batch, 1));
        }
        System.out.println("# case batch seq backend median_ms tokens_per_s");
        for (Case c : cases) {
            if (!only.isEmpty() && !c.kind().startsWith(only)) {
                continue;
            }
            double[] medians = new double[backends.size()];
            for (int i = 0; i < backends.size(); i++) {
                medians[i] = time(backends.get(i), c);
                long tokens = (long) c.batch() * c.seq();
                System.out.printf(Locale.ROOT, "%s %d %d %s %.3f %.0f%n", c.kind(), c.batch(), c.seq(), names.get(i),
                        medians[i] * 1e3, tokens / medians[i]);
            }
            if (backends.size() > 1) {
                System.out.printf(Locale.ROOT, "%s %d %d ratio %s/%s = %.2f (throughput)%n", c.kind(), c.batch(),
                        c.seq(), names.get(0), names.get(1), medians[1] / medians[0]);
            }
        }
        backends.forEach(Backend::close);
    }

    private record Case(String kind, int batch, int seq) {}

    private static Tensor random(Backend b, Random r, int... dims) {
        Shape s = Shape.of(dims);
        double[] x = new double[Math.toIntExact(s.elementCount())];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian() * 0.5;
        }
        return b.upload(HostTensor.of(x, s, DTYPE));
    }

    /** Median seconds per call of {@code c} on {@code b}. */
    private static double time(Backend b, Case c) {
        Random r = new Random(1);
        int bs = c.batch();
        int seq = c.seq();
        Taylor map = new Taylor(F);
        // the window kernels attend with the full head dimension; the linear and fused ones with f = 16
        int dk = c.kind().startsWith("window") ? DV : F;
        try (Tensor q = random(b, r, bs, HEADS, seq, dk); Tensor k = random(b, r, bs, HEADS, seq, dk);
                Tensor v = random(b, r, bs, HEADS, seq, DV); Tensor out = b.allocate(Shape.of(bs, HEADS, seq, DV), DTYPE)) {
            Runnable call;
            AutoCloseable state;
            switch (c.kind()) {
                case "linear-prefill", "linear-decode" -> {
                    var spec = LinearAttentionSpec.of(map);
                    var st = LinearAttentionState.zeros(b, bs, HEADS, map.outputDim(), DV, DTYPE);
                    state = st;
                    call = c.kind().endsWith("prefill")
                            ? () -> b.linearAttentionPrefill(spec, q, k, v, st, out)
                            : () -> b.linearAttentionDecode(spec, q, k, v, st, out);
                }
                case "window-prefill", "window-decode" -> {
                    var spec = SlidingWindowSpec.of(64);
                    var st = WindowState.empty(b, bs, HEADS, DV, DV, 64, DTYPE);
                    state = st;
                    call = c.kind().endsWith("prefill")
                            ? () -> b.slidingWindowPrefill(spec, q, k, v, st, out)
                            : () -> b.slidingWindowDecode(spec, q, k, v, st, out);
                }
                default -> {
                    var spec = BasedAttentionSpec.of(map, 64);
                    var st = BasedAttentionState.empty(b, bs, HEADS, F, map.outputDim(), DV, 64, DTYPE);
                    state = st;
                    call = c.kind().endsWith("prefill")
                            ? () -> b.basedAttentionPrefill(spec, q, k, v, st, out)
                            : () -> b.basedAttentionDecode(spec, q, k, v, st, out);
                }
            }
            try (state) {
                Supplier<Double> once = () -> {
                    long t0 = System.nanoTime();
                    call.run();
                    b.synchronize();
                    return (System.nanoTime() - t0) * 1e-9;
                };
                // warm-up: program builds, JIT, caches
                double warm = 0;
                for (int i = 0; i < 3 || warm < 0.5; i++) {
                    warm += once.get();
                    if (i > 50) {
                        break;
                    }
                }
                List<Double> times = new ArrayList<>();
                double total = 0;
                while (total < SECONDS || times.size() < 5) {
                    double t = once.get();
                    times.add(t);
                    total += t;
                }
                times.sort(null);
                return times.get(times.size() / 2);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
