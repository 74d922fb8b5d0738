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
import java.util.Optional;
import java.util.OptionalDouble;
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
 * batch 1 and 8. Every point is warmed at its own shape and timed {@code --repeats} times (the median, the fastest and
 * the slowest repeat are reported), each timing waiting for the backend ({@link Backend#synchronize()}). Before the
 * first point the machine's float32 FMA peak is measured ({@link MachinePeak}); on a backend that computes on the
 * host's cores, a point faster than that peak is flagged rather than reported. A progress bar while it runs, a table
 * at the end, optionally JSON, CSV and a PNG chart. Kernel by kernel figures come from the JMH benchmarks (module
 * {@code benchmarks}, {@code docs/performance.md}).
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

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "" + Tradeoff.DEFAULT_REPEATS,
            description = "Timed repeats of every point, after an untimed run at the point's own shape; the median, "
                    + "fastest and slowest are reported (1.." + Tradeoff.MAX_REPEATS + ", default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--decode-steps", paramLabel = "N", defaultValue = "" + Tradeoff.DEFAULT_DECODE_STEPS,
            description = "Decode steps in one timed decode repeat (1.." + BenchCommand.MAX_DECODE_STEPS
                    + ", default: ${DEFAULT-VALUE}).")
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
    /** Most decode steps in one timed repeat. */
    static final int MAX_DECODE_STEPS = 1 << 16;

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
        if (repeats < 1 || repeats > Tradeoff.MAX_REPEATS) {
            throw new Based4j.UserError("--repeats: expected 1.." + Tradeoff.MAX_REPEATS + ", got " + repeats);
        }
        if (decodeSteps < 1 || decodeSteps > MAX_DECODE_STEPS) {
            throw new Based4j.UserError("--decode-steps: expected 1.." + MAX_DECODE_STEPS + ", got " + decodeSteps);
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
        Tradeoff.Sweep sweep = new Tradeoff.Sweep(shape, chosenModels, sortedContexts, sortedBatches, repeats,
                decodeSteps, seed, weights);
        try (Backend b = backend == null ? Backends.select() : Backends.select(backend)) {
            Map<String, Object> machine = machine(b, shape);
            machine.put("repeats", repeats);
            machine.put("decode_steps_per_repeat", decodeSteps);
            machine.put("weights", weights.label());
            out.printf("backend   %s on %s%s%n", b.name(), b.device(), weights.isReduced() ? ", " + weights.label()
                    + " weights" : "");
            out.printf("stacks    %s: width %d, %d layers; based = %s; attention = %d heads of %d in every layer%n",
                    shape.name(), shape.modelDim(), shape.layers(), describe(shape), shape.attentionHeads(),
                    shape.modelDim() / shape.attentionHeads());
            out.printf("load      %.2f (1-minute average at start; measurements on a loaded machine are slower)%n",
                    (double) machine.get("load_average"));
            out.printf("timing    %d timed repeats per point after an untimed one at its shape (median, fastest and "
                    + "slowest reported); decode repeats of %d planned steps; the backend is synchronized before "
                    + "every clock reading%n", repeats, decodeSteps);
            out.flush();
            OptionalDouble peak = peak(b, machine, out);
            List<Tradeoff.Measurement> measured = new ArrayList<>();
            RunControl.Stopped stopped = null;
            try {
                if (noProgress) {
                    Tradeoff.run(b, sweep, collecting(quiet(), measured), control);
                } else {
                    try (Progress progress = new Progress(err)) {
                        Tradeoff.run(b, sweep, collecting(progress, measured), control);
                    }
                }
            } catch (RunControl.Stopped e) {
                stopped = e;
            }
            out.println();
            List<Tradeoff.Measurement> records = checked(measured, peak, machine, out);
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
                throw control.stopped("after " + records.size() / 2 + " of " + sweep.points() + " points"
                        + (records.isEmpty() ? "" : " (the table and files hold those)"));
            }
            return 0;
        }
    }

    /**
     * Measures the machine's FMA peak ({@link MachinePeak}) on every processor the JVM may use (no backend on this
     * machine's cores can use more), records it in {@code machine} and prints it.
     *
     * @return the peak points are checked against: empty when it could not be measured or does not bound the backend
     */
    private static OptionalDouble peak(Backend b, Map<String, Object> machine, PrintWriter out) {
        int threads = Runtime.getRuntime().availableProcessors();
        Optional<MachinePeak.Peak> measured = MachinePeak.measure(threads);
        boolean bounds = MachinePeak.bounds(b);
        machine.put("fma_peak_gflops", measured.map(MachinePeak.Peak::gflops).orElse(null));
        machine.put("fma_peak_threads", measured.map(MachinePeak.Peak::threads).orElse(null));
        machine.put("fma_peak_lanes", measured.map(MachinePeak.Peak::lanes).orElse(null));
        String check;
        if (measured.isEmpty()) {
            check = "not measured (" + MachinePeak.VECTOR_MODULE + " is not in the boot layer: run the JVM with "
                    + "--add-modules " + MachinePeak.VECTOR_MODULE + "); points are not checked";
        } else if (!bounds) {
            check = measured.get().describe() + "; not applied: backend " + b.name()
                    + " does not compute on this machine's CPU cores";
        } else {
            check = measured.get().describe() + "; a point above it is flagged, not reported (the peak is measured "
                    + "again first)";
        }
        machine.put("fma_peak_check", check);
        out.println("peak      " + check);
        out.flush();
        return measured.isPresent() && bounds ? OptionalDouble.of(measured.get().gflops()) : OptionalDouble.empty();
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
                    MemoryBudget.Need.heap("repeat times", MemoryBudget.times(4, repeats, 8))));
        }
        if (chosen.contains(Tradeoff.ATTENTION)) {
            int kvTokens = context + Tradeoff.decodeTokens(repeats, decodeSteps);
            var attention = shape.attention(kvTokens);
            budget.check(setting, List.of(
                    MemoryBudget.Need.offHeap("based weights", chosen.contains(Tradeoff.BASED) ? basedWeights : 0),
                    MemoryBudget.Need.offHeap("attention weights", StackMemory.weights(attention, DType.F32, weights)),
                    MemoryBudget.Need.offHeap("hidden states [" + batch + ", " + context + ", " + d + "] f32, host and "
                            + "backend", hiddenBytes),
                    MemoryBudget.Need.offHeap("prefill activations",
                            StackMemory.prefillActivations(attention, batch, context, DType.F32)),
                    MemoryBudget.Need.offHeap("KV cache of " + attention.mixers().size() + " layers x "
                            + kvTokens + " tokens",
                            StackMemory.state(attention, batch, DType.F32)),
                    MemoryBudget.Need.heap("repeat times", MemoryBudget.times(4, repeats, 8))));
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

    /**
     * Flags the measurements faster than the peak. When one is, the peak is measured once more before it is flagged
     * and the higher of the two counts: a peak measured while the machine was busier than during the points must not
     * turn results into flags. The second measurement is recorded in {@code machine} and printed.
     *
     * @return the measurements, those faster than the peak flagged
     */
    private static List<Tradeoff.Measurement> checked(List<Tradeoff.Measurement> measured, OptionalDouble peak,
            Map<String, Object> machine, PrintWriter out) {
        if (peak.isEmpty()) {
            return measured;
        }
        double first = peak.getAsDouble();
        double limit = first;
        if (measured.stream().anyMatch(m -> m.gflops().max() > first)) {
            Optional<MachinePeak.Peak> again = MachinePeak.measure(Runtime.getRuntime().availableProcessors());
            if (again.isPresent()) {
                machine.put("fma_peak_gflops_remeasured", again.get().gflops());
                out.println("peak      measured again, as a point exceeded it: " + again.get().describe());
                limit = Math.max(limit, again.get().gflops());
            }
        }
        double bound = limit;
        return measured.stream().map(m -> m.checkedAgainst(bound)).toList();
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
