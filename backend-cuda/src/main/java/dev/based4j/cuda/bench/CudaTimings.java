package dev.based4j.cuda.bench;

import dev.based4j.Backends;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.featuremap.Taylor;
import dev.based4j.layer.LayerStack;
import dev.based4j.Backend;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Device timings of the CUDA backend for the performance notes, measured with CUDA events on the backend's stream
 * (median of several runs after warm-up): device-to-device and host-to-device copy bandwidth, the FP32 matrix
 * multiply, linear-attention prefill at B=8, H=16, N=8192, f=16, dv=64 (chunked and the backend's own choice), the
 * window and fused layers on the same shape, decode at batch 1, 64 and 256 with the state traffic it implies, and
 * the 360M-shape layer stack with seeded weights. Prints one {@code name = value} line per result and, given a
 * path, writes them there as a properties file (read by {@code scripts/torch_reference.py}).
 *
 * <p>Usage: {@code java --enable-native-access=ALL-UNNAMED -cp 'lib/*' dev.based4j.cuda.bench.CudaTimings
 * [results.properties [smoke|probe]]}; {@code smoke} shrinks every size, to check the program itself on a slow
 * device (the driver emulator of the tests); {@code probe} only lists every backend's availability, as
 * {@code based4j info} does. Results are written as they are measured, so a run stopped by a time limit
 * keeps what it had; a group that fails is reported and the others still run.
 */
public final class CudaTimings {
    private static final int HEADS = 16;
    private static final int FEATURE = 16;
    private static final int VALUE = 64;

    /** The problem sizes: the issue's, or tiny ones for checking the program. */
    private record Sizes(long copyElements, long hostElements, int matM, int matN, int matK, int prefillBatch,
            int prefillSeq, int[] decodeBatches, int stackVocab, int stackDim, int stackLayers, int stackSeq) {
        static final Sizes FULL = new Sizes(1L << 29, 1L << 28, 8192, 4096, 4096, 8, 8192, new int[] {1, 64, 256},
                50264, 1024, 27, 2048);
        static final Sizes SMOKE = new Sizes(1L << 20, 1L << 20, 128, 96, 64, 1, 160, new int[] {1, 3}, 512, 64, 5,
                40);
    }

    private final Backend backend;
    private final CudaContext context;
    private final Sizes sizes;
    private final Path file;
    private final Map<String, String> results = new LinkedHashMap<>();
    private final PrintStream log = System.out;
    private final SplittableRandom random = new SplittableRandom(20260101);

    private CudaTimings(Backend backend, CudaContext context, Sizes sizes, Path file) {
        this.backend = backend;
        this.context = context;
        this.sizes = sizes;
        this.file = file;
    }

    /**
     * Runs every measurement on the {@code cuda} backend.
     *
     * @param args optionally the properties file to write the results to, then {@code smoke} for tiny sizes or
     *     {@code probe} for the availability of every backend only
     */
    public static void main(String[] args) {
        if (args.length > 1 && args[1].equals("probe")) {
            for (Backends.ProviderStatus p : Backends.list()) {
                System.out.println(p.name() + ": " + (p.availability().usable() ? "usable on " + p.availability().device()
                        : "NOT USABLE: " + p.availability().reason() + " (fix: " + p.availability().fix() + ")"));
            }
            return;
        }
        Sizes sizes = args.length > 1 && args[1].equals("smoke") ? Sizes.SMOKE : Sizes.FULL;
        try (Backend cuda = Backends.select("cuda")) {
            // the device context, for the copies timed on raw device memory and for CUDA events on the stream
            CudaContext context = cuda.unwrap(CudaContext.class).orElseThrow(() -> new IllegalStateException(
                    "backend 'cuda' is not the CUDA backend of this module: " + cuda));
            new CudaTimings(cuda, context, sizes, args.length > 0 ? Path.of(args[0]) : null).run();
        }
    }

    private void run() {
        put("device", backend.device());
        group("copy", this::copyBandwidth);
        group("matmul", this::matmul);
        group("prefill", this::prefill);
        for (int batch : sizes.decodeBatches()) {
            group("decode b" + batch, () -> decode(batch));
        }
        group("stack", this::layerStack);
    }

    private void group(String name, Runnable measurement) {
        try {
            measurement.run();
        } catch (RuntimeException e) {
            put("error." + name.replace(' ', '_'), e.toString());
            e.printStackTrace(log);
        }
    }

    // ---------------------------------------------------------------- ceilings

    private void copyBandwidth() {
        long bytes = sizes.copyElements() * 4;
        try (DeviceMemory a = new DeviceMemory(bytes); DeviceMemory b = new DeviceMemory(bytes)) {
            double ms = median(3, 10, () -> context.copy(a.buffer(), 0, b.buffer(), 0, bytes));
            // bytes read plus bytes written
            put("copy.d2d.gb_per_s", 2.0 * bytes / (ms * 1e6));
        }
        long hostBytes = sizes.hostElements() * 4;
        try (Arena arena = Arena.ofConfined(); DeviceMemory dst = new DeviceMemory(hostBytes)) {
            MemorySegment host = arena.allocate(hostBytes, 64);
            host.fill((byte) 1);
            double ms = median(1, 5, () -> context.run(() -> context.driver().memcpyHtoDAsync(dst.buffer().pointer(),
                    host, hostBytes, context.stream())));
            put("copy.h2d_pageable.gb_per_s", hostBytes / (ms * 1e6));
        }
    }

    /** Raw device memory for the copy ceilings, outside any tensor. */
    private final class DeviceMemory implements AutoCloseable {
        private final CudaBuffer buffer;

        DeviceMemory(long bytes) {
            buffer = new CudaBuffer(context.call(() -> context.allocate(bytes)), bytes);
        }

        CudaBuffer buffer() {
            return buffer;
        }

        @Override
        public void close() {
            context.release(buffer.pointer());
        }
    }

    private void matmul() {
        int m = sizes.matM();
        int n = sizes.matN();
        int k = sizes.matK();
        try (Tensor x = randomTensor(Shape.of(m, k), 1); Tensor w = randomTensor(Shape.of(n, k), 0.02);
                Tensor y = backend.allocate(Shape.of(m, n), DType.F32)) {
            double ms = median(2, 5, () -> backend.linear(x, w, null, y));
            put("matmul.f32.ms", ms);
            put("matmul.f32.tflops", 2.0 * m * n * k / (ms * 1e9));
        }
    }

    // ---------------------------------------------------------------- attention

    private void prefill() {
        int b = sizes.prefillBatch();
        int n = sizes.prefillSeq();
        Taylor map = new Taylor(FEATURE);
        int d = map.outputDim();
        try (Tensor q = randomTensor(Shape.of(b, HEADS, n, FEATURE), 1);
                Tensor k = randomTensor(Shape.of(b, HEADS, n, FEATURE), 1);
                Tensor v = randomTensor(Shape.of(b, HEADS, n, VALUE), 1);
                Tensor out = backend.allocate(Shape.of(b, HEADS, n, VALUE), DType.F32)) {
            for (PrefillAlgorithm algorithm : new PrefillAlgorithm[] {PrefillAlgorithm.CHUNKED, PrefillAlgorithm.AUTO}) {
                LinearAttentionSpec spec = LinearAttentionSpec.of(map).withAlgorithm(algorithm);
                try (LinearAttentionState state = LinearAttentionState.zeros(backend, b, HEADS, d, VALUE, DType.F32)) {
                    double ms = median(2, 5, () -> backend.linearAttentionPrefill(spec, q, k, v, state, out));
                    String key = "prefill.linear." + algorithm.name().toLowerCase(Locale.ROOT);
                    put(key + ".ms", ms);
                    // algorithmic FLOPs of the chunked form: φ(q)·S and S += φ(k)ᵀv (2·D·dv each) per token and
                    // head, plus the masked 64-token chunk product (q·k and A·v)
                    double flops = (double) b * HEADS * n * (4.0 * d * VALUE + 2.0 * 64 * (FEATURE + VALUE));
                    put(key + ".tflops", flops / (ms * 1e9));
                    put(key + ".mtokens_per_s", (double) b * n / (ms * 1e3));
                }
            }
            int lookback = 128;
            try (WindowState state = WindowState.empty(backend, b, HEADS, FEATURE, VALUE, lookback, DType.F32)) {
                SlidingWindowSpec spec = SlidingWindowSpec.of(lookback);
                put("prefill.window128.ms", median(2, 5, () -> backend.slidingWindowPrefill(spec, q, k, v, state, out)));
            }
            try (BasedAttentionState state = BasedAttentionState.empty(backend, b, HEADS, FEATURE, d, VALUE, 64,
                    DType.F32)) {
                BasedAttentionSpec spec = BasedAttentionSpec.of(map, 64);
                put("prefill.fused64.ms", median(2, 5, () -> backend.basedAttentionPrefill(spec, q, k, v, state, out)));
            }
        }
    }

    private void decode(int batch) {
        Taylor map = new Taylor(FEATURE);
        int d = map.outputDim();
        LinearAttentionSpec spec = LinearAttentionSpec.of(map);
        try (Tensor q = randomTensor(Shape.of(batch, HEADS, 1, FEATURE), 1);
                Tensor k = randomTensor(Shape.of(batch, HEADS, 1, FEATURE), 1);
                Tensor v = randomTensor(Shape.of(batch, HEADS, 1, VALUE), 1);
                Tensor out = backend.allocate(Shape.of(batch, HEADS, 1, VALUE), DType.F32);
                LinearAttentionState state = LinearAttentionState.zeros(backend, batch, HEADS, d, VALUE, DType.F32)) {
            double ms = median(5, 30, () -> backend.linearAttentionDecode(spec, q, k, v, state, out));
            String key = "decode.linear.b" + batch;
            put(key + ".us", ms * 1e3);
            // the state is read and written once per step
            double bytes = 2.0 * state.sizeInBytes();
            put(key + ".state_gb_per_s", bytes / (ms * 1e6));
            put(key + ".mtokens_per_s", batch / (ms * 1e3));
        }
        int lookback = 128;
        try (Tensor q = randomTensor(Shape.of(batch, HEADS, 1, VALUE), 1);
                Tensor k = randomTensor(Shape.of(batch, HEADS, 1, VALUE), 1);
                Tensor v = randomTensor(Shape.of(batch, HEADS, 1, VALUE), 1);
                Tensor out = backend.allocate(Shape.of(batch, HEADS, 1, VALUE), DType.F32);
                WindowState state = WindowState.empty(backend, batch, HEADS, VALUE, VALUE, lookback, DType.F32)) {
            SlidingWindowSpec window = SlidingWindowSpec.of(lookback);
            for (int i = 0; i <= lookback; i++) {
                backend.slidingWindowDecode(window, q, k, v, state, out);
            }
            double ms = median(5, 30, () -> backend.slidingWindowDecode(window, q, k, v, state, out));
            put("decode.window128.b" + batch + ".us", ms * 1e3);
            put("decode.window128.b" + batch + ".state_gb_per_s", state.sizeInBytes() / (ms * 1e6));
        }
    }

    // ---------------------------------------------------------------- 360M stack

    private void layerStack() {
        LayerStack.Config config = LayerStack.Config.based(sizes.stackVocab(), sizes.stackDim(), sizes.stackLayers(),
                HEADS, FEATURE, 128);
        long t0 = System.nanoTime();
        try (LayerStack stack = LayerStack.random(backend, DType.F32, config, 360)) {
            put("stack360m.load_s", (System.nanoTime() - t0) / 1e9);
            int seq = sizes.stackSeq();
            int[] prompt = ids(seq);
            double[] ms = new double[3];
            for (int i = -1; i < ms.length; i++) {
                Tensor[] logits = new Tensor[1];
                try (LayerStack.State state = stack.newState(1)) {
                    double t = context.elapsedMillis(() -> logits[0] = stack.prefill(prompt, 1, seq, state));
                    logits[0].close();
                    if (i >= 0) {
                        ms[i] = t;
                    }
                }
            }
            Arrays.sort(ms);
            put("stack360m.prefill.b1.n" + seq + ".ms", ms[1]);
            put("stack360m.prefill.b1.n" + seq + ".ktokens_per_s", seq / ms[1]);
            for (int batch : new int[] {1, sizes.decodeBatches()[1]}) {
                try (LayerStack.State state = stack.newState(batch)) {
                    int[] step = ids(batch);
                    for (int i = 0; i < 3; i++) {
                        stack.decode(step, state).close();
                    }
                    backend.synchronize();
                    int steps = 20;
                    long start = System.nanoTime();
                    double device = context.elapsedMillis(() -> {
                        for (int i = 0; i < steps; i++) {
                            stack.decode(step, state).close();
                        }
                    });
                    double wall = (System.nanoTime() - start) / 1e6;
                    put("stack360m.decode.b" + batch + ".ms_per_step", device / steps);
                    put("stack360m.decode.b" + batch + ".wall_ms_per_step", wall / steps);
                    put("stack360m.decode.b" + batch + ".tokens_per_s", batch * steps / (wall / 1e3));
                }
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Median device milliseconds of {@code reps} timed runs after {@code warmup} untimed ones. */
    private double median(int warmup, int reps, Runnable work) {
        for (int i = 0; i < warmup; i++) {
            work.run();
        }
        backend.synchronize();
        double[] ms = new double[reps];
        for (int i = 0; i < reps; i++) {
            ms[i] = context.elapsedMillis(work);
        }
        Arrays.sort(ms);
        return ms[reps / 2];
    }

    private int[] ids(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = random.nextInt(sizes.stackVocab());
        }
        return ids;
    }

    private Tensor randomTensor(Shape shape, double scale) {
        HostTensor h = HostTensor.allocate(shape, DType.F32);
        MemorySegment seg = h.segment();
        long n = shape.elementCount();
        for (long i = 0; i < n; i++) {
            seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) ((random.nextDouble() * 2 - 1) * scale));
        }
        return backend.upload(h);
    }

    private void put(String key, double value) {
        put(key, String.format(Locale.ROOT, "%.4f", value));
    }

    private void put(String key, String value) {
        results.put(key, value);
        log.println(key + " = " + value);
        log.flush();
        if (file != null) {
            StringBuilder sb = new StringBuilder("# based4j CUDA timings (CudaTimings)\n");
            results.forEach((k, v) -> sb.append(k).append(" = ").append(v.replace("\n", " ")).append('\n'));
            try {
                Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + file, e);
            }
        }
    }
}
