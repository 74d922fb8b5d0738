package dev.based4j.examples;

import dev.based4j.Backends;
import dev.based4j.recall.MqarSeeds;
import dev.based4j.recall.capacity.CapacityCharts;
import dev.based4j.recall.capacity.CapacityConfig;
import dev.based4j.recall.capacity.CapacityCsv;
import dev.based4j.recall.capacity.CapacityExperiment;
import dev.based4j.recall.capacity.CapacityMeasurement;
import dev.based4j.recall.capacity.CapacityResults;
import dev.based4j.recall.capacity.CapacityTable;
import dev.based4j.recall.capacity.ConsoleProgress;
import dev.based4j.recall.capacity.RecallMixer;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j recall}: the recall-capacity experiment (MQAR accuracy of one attention head against the size of
 * its state, per feature map and window size) on any backend, with a progress bar, a table, CSV files and two
 * charts. See {@code docs/recall.md}.
 */
@Command(name = "recall", mixinStandardHelpOptions = true,
        description = {"Measure how much one attention head recalls for the size of its state: MQAR through linear "
                + "attention with each feature map, sliding windows, the fused linear-plus-window layer and full "
                + "attention, with random (untrained) embeddings.",
                "Writes a table to standard output and recall-capacity.csv, recall-capacity-runs.csv, "
                        + "recall-state-size.png and recall-window.png to --out."})
final class RecallCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Backend to run on (cpu, opencl, cuda, onnx, ...); default: based4j.backend, else the best usable.")
    String backend;

    @Option(names = "--dtype", paramLabel = "f32|f64", defaultValue = "f32",
            description = "Precision of the head's tensors (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--seq-len", paramLabel = "L", defaultValue = "" + CapacityConfig.DEFAULT_SEQ_LEN,
            description = "MQAR sequence length (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--vocab", paramLabel = "V", defaultValue = "" + CapacityConfig.DEFAULT_VOCAB,
            description = "MQAR vocabulary, larger than L (default: ${DEFAULT-VALUE}).")
    int vocab;

    @Option(names = "--pairs", paramLabel = "N", split = ",", defaultValue = "16,32,64",
            description = "Numbers of key-value pairs, each at most L/4 (default: ${DEFAULT-VALUE}).")
    List<Integer> pairs;

    @Option(names = "--lookbacks", paramLabel = "W", split = ",",
            description = "Window lookbacks of the window and fused heads (default: 16, 32, ... below L-1).")
    List<Integer> lookbacks;

    @Option(names = "--value-dim", paramLabel = "DV", defaultValue = "" + CapacityConfig.DEFAULT_VALUE_DIM,
            description = "Value dimension of the head (default: ${DEFAULT-VALUE}).")
    int valueDim;

    @Option(names = "--examples", paramLabel = "COUNT", defaultValue = "16",
            description = "Sequences per N and seed (default: ${DEFAULT-VALUE}).")
    int examples;

    @Option(names = "--seeds", paramLabel = "COUNT", defaultValue = "3",
            description = "Repetitions with independent data and embeddings (default: ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "" + MqarSeeds.DEFAULT_MASTER_SEED,
            description = "Master seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch", paramLabel = "COUNT", defaultValue = "16",
            description = "Sequences per kernel call (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "recall-results",
            description = "Folder for the CSV files and charts (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--no-progress", description = "Do not draw the progress bar.")
    boolean noProgress;

    @Mixin
    TimeLimit timeLimit;

    /** Heap of one measurement (a record, its mixer and its row in the results), rounded up. */
    static final long MEASUREMENT_BYTES = 256;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        CapacityConfig config = new CapacityConfig(vocab, seqLen, pairs, valueDim, examples, seeds, seed,
                Based4j.computeType(dtype), batch,
                lookbacks == null ? CapacityConfig.defaultMixers(seqLen)
                        : CapacityConfig.defaultMixers(seqLen, lookbacks));
        // the files are written after the whole experiment: a folder that cannot take them is refused now
        OutputFiles.checkFolder("--out", out);
        Path summary = out.resolve("recall-capacity.csv");
        Path runs = out.resolve("recall-capacity-runs.csv");
        Path stateChart = out.resolve("recall-state-size.png");
        Path windowChart = out.resolve("recall-window.png");
        for (Path file : List.of(summary, runs, stateChart, windowChart)) {
            OutputFiles.checkFile("--out", file);
        }
        checkMemory(config);
        RunControl control = RunControl.current();
        timeLimit.applyTo(control);
        // charts are drawn off-screen; never look for a display
        System.setProperty("java.awt.headless", "true");
        CapacityResults results;
        int[] done = {0};
        CapacityExperiment.Listener stopper = new CapacityExperiment.Listener() {
            @Override
            public void starting(RecallMixer mixer, int numKvPairs, int seedIndex) {
                control.check();
            }

            @Override
            public void finished(CapacityMeasurement measurement) {
                done[0]++;
            }
        };
        try (Backend b = backend == null ? Backends.select() : Backends.select(backend)) {
            if (noProgress) {
                results = CapacityExperiment.run(b, config, stopper);
            } else {
                try (ConsoleProgress progress = new ConsoleProgress(System.err)) {
                    results = CapacityExperiment.run(b, config, both(progress, stopper));
                }
            }
        } catch (RunControl.Stopped e) {
            throw control.stopped("after " + done[0] + " of " + (long) config.mixers().size() * config.kvPairs().size()
                    * config.seeds() + " evaluations (nothing written)");
        }
        stdout.println(CapacityTable.render(results));
        OutputFiles.write("--out", summary, () -> CapacityCsv.writeSummary(results, summary));
        OutputFiles.write("--out", runs, () -> CapacityCsv.writeRuns(results, runs));
        OutputFiles.write("--out", stateChart,
                () -> CapacityCharts.writePng(CapacityCharts.stateSizeChart(results), stateChart));
        OutputFiles.write("--out", windowChart,
                () -> CapacityCharts.writePng(CapacityCharts.windowChart(results), windowChart));
        stdout.println("wrote " + summary + ", " + runs + ", " + stateChart + ", " + windowChart);
        return 0;
    }

    /**
     * Refuses a sweep that cannot fit, before any data is generated. On the heap: one MQAR segment (inputs and
     * labels of {@code --examples} sequences of {@code --seq-len} tokens), the random embeddings of every key
     * dimension ({@code --vocab} rows of key and value vectors in float64), and one batch's queries, keys, values and
     * outputs in float64. Off the heap: that batch's tensors on the backend, the widest mixer's feature maps of
     * queries and keys, and its state (a window's ring grows with its lookback, full attention's cache with the
     * sequence).
     */
    private void checkMemory(CapacityConfig config) {
        // a batch holds at most every example of a segment
        long batchSize = Math.min(config.batchSize(), config.examples());
        long rows = MemoryBudget.times(batchSize, config.seqLen());
        long bytes = config.dtype().byteSize();
        long dv = config.valueDim();
        long embeddings = 0;
        long widestKey = 0;
        long widestFeatures = 0;
        long widestState = 0;
        java.util.Set<Integer> keyDims = new java.util.HashSet<>();
        for (RecallMixer m : config.mixers()) {
            if (keyDims.add(m.keyDim())) {
                embeddings = MemoryBudget.plus(embeddings,
                        MemoryBudget.times(config.vocabSize(), (long) m.keyDim() + dv, 8));
            }
            widestKey = Math.max(widestKey, m.keyDim());
            long features = m.linearMap().map(f -> (long) f.outputDim()).orElse(0L);
            widestFeatures = Math.max(widestFeatures, features);
            long window = switch (m) {
                case RecallMixer.FullAttention f -> config.seqLen();
                default -> m.lookback().map(w -> (long) w + 1).orElse(0L);
            };
            widestState = Math.max(widestState, MemoryBudget.plus(
                    MemoryBudget.times(batchSize, window, (long) m.keyDim() + dv),
                    MemoryBudget.times(batchSize, features, dv + 1)));
        }
        long segment = MemoryBudget.plus(MemoryBudget.times(2, config.examples(), config.seqLen(), 4),
                MemoryBudget.times(3, config.examples(), config.kvPairs().stream().mapToInt(i -> i).max().orElse(1), 4));
        long tasks = MemoryBudget.times(config.mixers().size(), config.kvPairs().size(), config.seeds());
        MemoryBudget.current().check("--examples " + config.examples() + ", --seeds " + config.seeds() + ", --seq-len " + config.seqLen()
                + ", --vocab " + config.vocabSize() + ", --value-dim " + dv + ", --batch " + config.batchSize()
                + (lookbacks == null ? "" : ", --lookbacks " + lookbacks.stream().map(String::valueOf)
                        .collect(java.util.stream.Collectors.joining(","))), List.of(
                MemoryBudget.Need.heap("MQAR data of one segment", segment),
                MemoryBudget.Need.heap("segment seeds and " + tasks + " measurements", MemoryBudget.plus(
                        MemoryBudget.times(config.kvPairs().size(), config.seeds(), 8),
                        MemoryBudget.times(tasks, MEASUREMENT_BYTES))),
                MemoryBudget.Need.heap("embeddings of " + keyDims.size() + " key dimensions",
                        embeddings),
                MemoryBudget.Need.heap("one batch of queries, keys, values and outputs in f64",
                        MemoryBudget.times(rows, MemoryBudget.plus(MemoryBudget.times(2, widestKey), 2 * dv), 8)),
                MemoryBudget.Need.offHeap("one batch on the backend",
                        MemoryBudget.times(2, rows, MemoryBudget.plus(MemoryBudget.times(2, widestKey), 2 * dv),
                                bytes)),
                MemoryBudget.Need.offHeap("feature maps of queries and keys",
                        MemoryBudget.times(2, rows, widestFeatures, bytes)),
                MemoryBudget.Need.offHeap("the largest state", MemoryBudget.times(widestState, bytes))));
    }

    private static CapacityExperiment.Listener both(CapacityExperiment.Listener a, CapacityExperiment.Listener b) {
        return new CapacityExperiment.Listener() {
            @Override
            public void started(int tasks) {
                a.started(tasks);
                b.started(tasks);
            }

            @Override
            public void starting(RecallMixer mixer, int numKvPairs, int seedIndex) {
                b.starting(mixer, numKvPairs, seedIndex);
                a.starting(mixer, numKvPairs, seedIndex);
            }

            @Override
            public void finished(CapacityMeasurement measurement) {
                a.finished(measurement);
                b.finished(measurement);
            }

            @Override
            public void skipped(RecallMixer mixer, String reason) {
                a.skipped(mixer, reason);
                b.skipped(mixer, reason);
            }
        };
    }
}
