package dev.based4j.onnx.bench;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small throughput harness (not a test, not JMH): F32 kernel time of the {@code onnx} backend against the
 * {@code cpu} backend at the benchmark shapes ({@code B ∈ {1, 8}, H = 16, f = 16, dv = 64, N ∈ {512, 2048}},
 * window lookback 64). Each kernel is warmed up, then timed over at least {@code minSeconds} and three calls;
 * the median call time is reported. Prints a Markdown table; {@code docs/performance-onnx.md} has the numbers.
 *
 * <p>Run (from the repository root; the recipe is in {@code docs/performance-onnx.md}):
 * {@code ./mvnw -q -pl backend-onnx -am test-compile dependency:build-classpath
 * -Dmdep.outputFile=target/onnx-cp.txt -Dmdep.includeScope=test}, then {@code java --add-modules
 * jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx6g -cp
 * backend-onnx/target/test-classes:backend-onnx/target/classes:$(cat backend-onnx/target/onnx-cp.txt)
 * dev.based4j.onnx.bench.KernelThroughput [minSeconds] [batches] [lengths]}, e.g. {@code 1.5 1,8 512,2048}.
 */
public final class KernelThroughput {
    private KernelThroughput() {}

    private static final int H = 16;
    private static final int F = 16;
    private static final int DV = 64;
    private static final int LOOKBACK = 64;

    /** One timed kernel call on fresh state. */
    private interface Kernel {
        void call(Backend b);
    }

    /** Runs the harness. */
    public static void main(String[] args) {
        double minSeconds = args.length > 0 ? Double.parseDouble(args[0]) : 2.0;
        int[] batches = args.length > 1 ? ints(args[1]) : new int[] {1, 8};
        int[] lengths = args.length > 2 ? ints(args[2]) : new int[] {512, 2048};
        List<String> rows = new ArrayList<>();
        rows.add("| kernel | B | N | cpu ms | onnx ms | onnx/cpu throughput |");
        rows.add("|---|---|---|---|---|---|");
        try (Backend cpu = Backends.select("cpu"); Backend onnx = Backends.select("onnx")) {
            System.out.println("cpu:  " + cpu.device());
            System.out.println("onnx: " + onnx.device());
            for (int b : batches) {
                for (int n : lengths) {
                    for (Map.Entry<String, Kernel> e : kernels(b, n).entrySet()) {
                        double tc = time(cpu, e.getValue(), minSeconds);
                        double to = time(onnx, e.getValue(), minSeconds);
                        String row = String.format(Locale.ROOT, "| %s | %d | %d | %.2f | %.2f | %.2f |", e.getKey(), b, n,
                                tc * 1e3, to * 1e3, tc / to);
                        rows.add(row);
                        System.out.println(row);
                    }
                }
            }
        }
        System.out.println();
        rows.forEach(System.out::println);
    }

    private static int[] ints(String csv) {
        String[] p = csv.split(",");
        int[] out = new int[p.length];
        for (int i = 0; i < p.length; i++) {
            out[i] = Integer.parseInt(p[i].strip());
        }
        return out;
    }

    private static Map<String, Kernel> kernels(int batch, int n) {
        Map<String, Kernel> k = new LinkedHashMap<>();
        Taylor taylor = new Taylor(F);
        LinearAttentionSpec la = LinearAttentionSpec.of(taylor);
        SlidingWindowSpec sw = SlidingWindowSpec.of(LOOKBACK);
        BasedAttentionSpec based = BasedAttentionSpec.of(taylor, LOOKBACK);
        HostTensor q = random(1, batch, H, n, F);
        HostTensor kk = random(2, batch, H, n, F);
        HostTensor v = random(3, batch, H, n, DV);
        HostTensor q1 = random(4, batch, H, 1, F);
        HostTensor k1 = random(5, batch, H, 1, F);
        HostTensor v1 = random(6, batch, H, 1, DV);
        k.put("taylor feature map (q)", b -> {
            try (Tensor x = b.upload(q); Tensor out = b.featureMap(taylor, x)) {
                // timed together with the upload, as every kernel here
            }
        });
        k.put("linear attention prefill", b -> {
            try (LinearAttentionState s = LinearAttentionState.zeros(b, batch, H, taylor.outputDim(), DV, DType.F32);
                    Tensor qt = b.upload(q); Tensor kt = b.upload(kk); Tensor vt = b.upload(v);
                    Tensor y = b.linearAttentionPrefill(la, qt, kt, vt, s)) {
                // state and output freed by try-with-resources
            }
        });
        k.put("linear attention decode (1 token)", b -> {
            try (LinearAttentionState s = LinearAttentionState.zeros(b, batch, H, taylor.outputDim(), DV, DType.F32);
                    Tensor qt = b.upload(q1); Tensor kt = b.upload(k1); Tensor vt = b.upload(v1);
                    Tensor y = b.linearAttentionDecode(la, qt, kt, vt, s)) {
                // one step from a zero state costs what a step from any state costs
            }
        });
        k.put("sliding window prefill (w=64)", b -> {
            try (WindowState s = WindowState.empty(b, batch, H, F, DV, LOOKBACK, DType.F32);
                    Tensor qt = b.upload(q); Tensor kt = b.upload(kk); Tensor vt = b.upload(v);
                    Tensor y = b.slidingWindowPrefill(sw, qt, kt, vt, s)) {
                // timed
            }
        });
        k.put("fused based prefill (w=64)", b -> {
            try (BasedAttentionState s = BasedAttentionState.empty(b, batch, H, F, taylor.outputDim(), DV, LOOKBACK, DType.F32);
                    Tensor qt = b.upload(q); Tensor kt = b.upload(kk); Tensor vt = b.upload(v);
                    Tensor y = b.basedAttentionPrefill(based, qt, kt, vt, s)) {
                // timed
            }
        });
        return k;
    }

    private static HostTensor random(long seed, int... dims) {
        SplittableRandom r = new SplittableRandom(seed);
        Shape s = Shape.of(dims);
        HostTensor t = HostTensor.allocate(s, DType.F32);
        for (long i = 0; i < s.elementCount(); i++) {
            t.setDouble(i, (r.nextDouble() * 2 - 1) * 0.5);
        }
        return t;
    }

    /** Median seconds per call after one warm-up call (which also compiles the onnx session). */
    private static double time(Backend b, Kernel k, double minSeconds) {
        k.call(b);
        List<Double> times = new ArrayList<>();
        long start = System.nanoTime();
        while (times.size() < 3 || (System.nanoTime() - start) / 1e9 < minSeconds) {
            long t0 = System.nanoTime();
            k.call(b);
            times.add((System.nanoTime() - t0) / 1e9);
            if (times.size() >= 50) {
                break;
            }
        }
        times.sort(Double::compare);
        return times.get(times.size() / 2);
    }
}
