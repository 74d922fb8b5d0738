package dev.based4j.examples;

import dev.based4j.Backends;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j bench}: the recall–throughput tradeoff on one backend ({@link Tradeoff}): prefill and decode
 * tokens/s of a BASED layer stack and of the same width with full softmax attention, as the context grows, for
 * batch 1 and 8. A progress bar while it runs, a table at the end, optionally JSON, CSV and a PNG chart. Kernel
 * by kernel figures come from the JMH benchmarks (module {@code benchmarks}, {@code docs/performance.md}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Prefill and decode tokens/s of a BASED layer stack and of the same width with full softmax "
                + "attention, as the context grows (the recall-throughput tradeoff).",
                "Stacks map hidden states to hidden states (no embedding, no head), F32, seeded random weights. "
                        + "The default size is small so that the run takes minutes on two cores; --size 360m is the "
                        + "released based-360m layout."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Backend to run on (cpu, opencl, cuda, onnx, ...); default: based4j.backend, else the best usable.")
    String backend;

    @Option(names = "--size", paramLabel = "small|360m", defaultValue = "small",
            description = "Stack shape: small (width 64, 3 layers) or 360m (width 1024, 27 layers) (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--models", paramLabel = "based|attention", split = ",", defaultValue = "based,attention",
            description = "Which stacks to run (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--contexts", paramLabel = "TOKENS", split = ",",
            defaultValue = "1024,2048,4096,8192,16384,32768",
            description = "Context lengths (default: ${DEFAULT-VALUE}).")
    List<Integer> contexts;

    @Option(names = "--batches", paramLabel = "B", split = ",", defaultValue = "1,8",
            description = "Batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--decode-steps", paramLabel = "N", defaultValue = "64",
            description = "Most timed decode steps per point (the median counts); fewer when they take over a second "
                    + "(default: ${DEFAULT-VALUE}).")
    int decodeSteps;

    @Option(names = "--weights", paramLabel = "FORMAT", defaultValue = "f32",
            description = "How the stacks' matrices are stored: f32, bf16, f16, int8 or int8-g<N>; activations, states"
                    + " and sums stay float32 (default: ${DEFAULT-VALUE}).")
    String weightsName;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "42",
            description = "Seed of weights and inputs (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", paramLabel = "FILE", description = "Write {\"machine\": ..., \"records\": [...]} here.")
    Path json;

    @Option(names = "--csv", paramLabel = "FILE", description = "Write the records as CSV here.")
    Path csv;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "Write the chart (PNG) here.")
    Path chart;

    @Option(names = "--no-progress", description = "Do not draw the progress bar.")
    boolean noProgress;

    @Mixin
    TimeLimit timeLimit;

    /** Longest context accepted. */
    static final int MAX_CONTEXT = 1 << 20;
    /** Largest batch accepted. */
    static final int MAX_BATCH = 4096;
    /** Most timed decode steps per point accepted (a point's timed decode stops after a second anyway). */
    static final int MAX_DECODE_STEPS = 1 << 20;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Tradeoff.Size shape = Tradeoff.Size.named(size);
        WeightFormat weights = GenerateCommand.weightFormat(weightsName, DType.F32);
        for (String m : models) {
            if (!m.equals(Tradeoff.BASED) && !m.equals(Tradeoff.ATTENTION)) {
                throw new Based4j.UserError("--models: expected based and/or attention, got '" + m + "'");
            }
        }
        for (int c : contexts) {
            if (c < 1 || c > MAX_CONTEXT) {
                throw new Based4j.UserError("--contexts: expected values in 1.." + MAX_CONTEXT + ", got " + c);
            }
        }
        for (int b : batches) {
            if (b < 1 || b > MAX_BATCH) {
                throw new Based4j.UserError("--batches: expected values in 1.." + MAX_BATCH + ", got " + b);
            }
        }
        if (decodeSteps < Tradeoff.MIN_DECODE_STEPS || decodeSteps > MAX_DECODE_STEPS) {
            throw new Based4j.UserError("--decode-steps: expected " + Tradeoff.MIN_DECODE_STEPS + ".."
                    + MAX_DECODE_STEPS + ", got " + decodeSteps);
        }
        if (chart != null && !chart.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            throw new Based4j.UserError("--chart: expected a .png file, got " + chart);
        }
        // the reports are written after minutes of work: a path that cannot take them is refused now
        if (json != null) {
            OutputFiles.checkFile("--json", json);
        }
        if (csv != null) {
            OutputFiles.checkFile("--csv", csv);
        }
        if (chart != null) {
            OutputFiles.checkFile("--chart", chart);
        }
        List<Integer> sortedContexts = contexts.stream().distinct().sorted().toList();
        List<Integer> sortedBatches = batches.stream().distinct().sorted().toList();
        List<String> chosenModels = models.stream().distinct().toList();
        checkMemory(shape, weights, chosenModels, sortedContexts.getLast(), sortedBatches.getLast());
        RunControl control = RunControl.current();
        timeLimit.applyTo(control);
        System.setProperty("java.awt.headless", "true");
        try (Backend b = backend == null ? Backends.select() : Backends.select(backend)) {
            Map<String, Object> machine = machine(b, shape);
            machine.put("weights", weights.label());
            out.printf("backend   %s on %s%s%n", b.name(), b.device(), weights.isReduced() ? ", " + weights.label()
                    + " weights" : "");
            out.printf("stacks    %s: width %d, %d layers; based = %s; attention = %d heads of %d in every layer%n",
                    shape.name(), shape.modelDim(), shape.layers(), describe(shape), shape.attentionHeads(),
                    shape.modelDim() / shape.attentionHeads());
            out.printf("load      %.2f (1-minute average at start; measurements on a loaded machine are slower)%n",
                    (double) machine.get("load_average"));
            out.flush();
            List<Tradeoff.Measurement> records = new ArrayList<>();
            int points = chosenModels.size() * sortedContexts.size() * sortedBatches.size();
            RunControl.Stopped stopped = null;
            try {
                if (noProgress) {
                    Tradeoff.run(b, shape, weights, chosenModels, sortedContexts, sortedBatches, decodeSteps, seed,
                            collecting(quiet(), records), control);
                } else {
                    try (Progress progress = new Progress(err)) {
                        Tradeoff.run(b, shape, weights, chosenModels, sortedContexts, sortedBatches, decodeSteps,
                                seed, collecting(progress, records), control);
                    }
                }
            } catch (RunControl.Stopped e) {
                stopped = e;
            }
            out.println();
            if (!records.isEmpty()) {
                out.print(TradeoffReport.table(records));
                if (json != null) {
                    OutputFiles.write("--json", json, () -> TradeoffReport.writeJson(machine, records, json));
                    out.println("wrote " + json);
                }
                if (csv != null) {
                    OutputFiles.write("--csv", csv, () -> TradeoffReport.writeCsv(records, csv));
                    out.println("wrote " + csv);
                }
                if (chart != null) {
                    OutputFiles.write("--chart", chart, () -> TradeoffReport.writeChart(records,
                            b.name() + ", " + shape.name() + " stacks", chart));
                    out.println("wrote " + chart);
                }
            }
            out.flush();
            if (stopped != null) {
                throw control.stopped("after " + records.size() / 2 + " of " + points + " points"
                        + (records.isEmpty() ? "" : " (the table and files hold those)"));
            }
            return 0;
        }
    }

    /**
     * Refuses a sweep whose largest point cannot fit: the stacks' weights, the input hidden states (on the host and
     * on the backend), the prefill's activations and the decode state of the longest context at the largest batch
     * ({@link StackMemory}). The full-attention stack's state is its KV cache, which grows with the context.
     */
    private void checkMemory(Tradeoff.Size shape, WeightFormat weights, List<String> chosen, int context, int batch) {
        String setting = "--contexts " + context + " with --batches " + batch + " (--size " + shape.name()
                + (chosen.size() < 2 ? ", --models " + chosen.get(0) : "") + ")";
        long d = shape.modelDim();
        long hiddenBytes = MemoryBudget.times(2, batch, context, d, DType.F32.byteSize());
        long basedWeights = StackMemory.weights(shape.based(), DType.F32, weights);
        MemoryBudget budget = MemoryBudget.current();
        if (chosen.contains(Tradeoff.BASED)) {
            budget.check(setting, List.of(
                    MemoryBudget.Need.offHeap("based weights", basedWeights),
                    MemoryBudget.Need.offHeap("hidden states [" + batch + ", " + context + ", " + d + "] f32, host and "
                            + "backend", hiddenBytes),
                    MemoryBudget.Need.offHeap("prefill activations",
                            StackMemory.prefillActivations(shape.based(), batch, context, DType.F32)),
                    MemoryBudget.Need.offHeap("decode state", StackMemory.state(shape.based(), batch, DType.F32)),
                    MemoryBudget.Need.heap("decode step times", MemoryBudget.times(2, decodeSteps, 8))));
        }
        if (chosen.contains(Tradeoff.ATTENTION)) {
            var attention = shape.attention(context + Tradeoff.POINT_WARMUP_STEPS + decodeSteps);
            budget.check(setting, List.of(
                    MemoryBudget.Need.offHeap("based weights", chosen.contains(Tradeoff.BASED) ? basedWeights : 0),
                    MemoryBudget.Need.offHeap("attention weights", StackMemory.weights(attention, DType.F32, weights)),
                    MemoryBudget.Need.offHeap("hidden states [" + batch + ", " + context + ", " + d + "] f32, host and "
                            + "backend", hiddenBytes),
                    MemoryBudget.Need.offHeap("prefill activations",
                            StackMemory.prefillActivations(attention, batch, context, DType.F32)),
                    MemoryBudget.Need.offHeap("KV cache of " + attention.mixers().size() + " layers x "
                            + (context + Tradeoff.POINT_WARMUP_STEPS + decodeSteps) + " tokens",
                            StackMemory.state(attention, batch, DType.F32)),
                    MemoryBudget.Need.heap("decode step times", MemoryBudget.times(2, decodeSteps, 8))));
        }
    }

    /** @return a listener that also keeps every finished point's measurements in {@code into} */
    private static Tradeoff.Listener collecting(Tradeoff.Listener inner, List<Tradeoff.Measurement> into) {
        return new Tradeoff.Listener() {
            @Override
            public void started(int points) {
                inner.started(points);
            }

            @Override
            public void point(String model, int context, int batch) {
                inner.point(model, context, batch);
            }

            @Override
            public void done(Tradeoff.Measurement prefill, Tradeoff.Measurement decode) {
                into.add(prefill);
                into.add(decode);
                inner.done(prefill, decode);
            }
        };
    }

    private static String describe(Tradeoff.Size shape) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        shape.based().mixers().forEach(m -> counts.merge(switch (m) {
            case dev.based4j.layer.LinearAttentionLayer.Config la -> "linear attention";
            case dev.based4j.layer.SlidingWindowLayer.Config sw -> "sliding window (lookback "
                    + sw.window().lookback() + ")";
            case dev.based4j.layer.BaseConvLayer.Config c -> "BaseConv";
            default -> m.getClass().getSimpleName();
        }, 1, Integer::sum));
        StringBuilder sb = new StringBuilder();
        counts.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(v).append(' ').append(k));
        return sb.toString();
    }

    /** @return what the JSON's {@code machine} object records: where, on what and at which load it ran */
    private static Map<String, Object> machine(Backend b, Tradeoff.Size shape) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        m.put("arch", System.getProperty("os.arch"));
        m.put("cpu", cpuModel());
        m.put("processors", Runtime.getRuntime().availableProcessors());
        m.put("java", Runtime.version().toString());
        m.put("vm", System.getProperty("java.vm.name"));
        m.put("backend", b.name());
        m.put("device", b.device());
        m.put("load_average", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        m.put("size", shape.name());
        m.put("d_model", shape.modelDim());
        m.put("layers", shape.layers());
        m.put("started", Instant.now().toString());
        return m;
    }

    private static String cpuModel() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (Files.isReadable(cpuinfo)) {
            try {
                for (String line : Files.readAllLines(cpuinfo)) {
                    if (line.startsWith("model name")) {
                        return line.substring(line.indexOf(':') + 1).strip();
                    }
                }
            } catch (IOException e) {
                return "unknown (" + e.getMessage() + ")";
            }
        }
        return "unknown";
    }

    private static Tradeoff.Listener quiet() {
        return new Tradeoff.Listener() {
            @Override
            public void started(int points) {}

            @Override
            public void point(String model, int context, int batch) {}

            @Override
            public void done(Tradeoff.Measurement prefill, Tradeoff.Measurement decode) {}
        };
    }

    /** The progress bar (me.tongfei:progressbar): one step per point, the point as its message. */
    private static final class Progress implements Tradeoff.Listener, AutoCloseable {
        private final PrintWriter err;
        private ProgressBar bar;

        Progress(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void started(int points) {
            bar = new ProgressBarBuilder().setTaskName("bench").setInitialMax(points).setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(250).continuousUpdate()
                    .setConsumer(new DelegatingProgressBarConsumer(line -> {
                        err.print("\r" + line);
                        err.flush();
                    })).build();
        }

        @Override
        public void point(String model, int context, int batch) {
            bar.setExtraMessage(String.format(Locale.ROOT, "%s context %d B=%d", model, context, batch));
        }

        @Override
        public void done(Tradeoff.Measurement prefill, Tradeoff.Measurement decode) {
            bar.step();
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
                err.println();
                err.flush();
            }
        }
    }
}
