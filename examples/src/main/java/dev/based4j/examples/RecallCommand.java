package dev.based4j.examples;

import dev.based4j.Backends;
import dev.based4j.recall.MqarSeeds;
import dev.based4j.recall.capacity.CapacityCharts;
import dev.based4j.recall.capacity.CapacityConfig;
import dev.based4j.recall.capacity.CapacityCsv;
import dev.based4j.recall.capacity.CapacityExperiment;
import dev.based4j.recall.capacity.CapacityResults;
import dev.based4j.recall.capacity.CapacityTable;
import dev.based4j.recall.capacity.ConsoleProgress;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
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

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        CapacityConfig config = new CapacityConfig(vocab, seqLen, pairs, valueDim, examples, seeds, seed,
                DType.parse(dtype), batch,
                lookbacks == null ? CapacityConfig.defaultMixers(seqLen)
                        : CapacityConfig.defaultMixers(seqLen, lookbacks));
        // charts are drawn off-screen; never look for a display
        System.setProperty("java.awt.headless", "true");
        CapacityResults results;
        try (Backend b = backend == null ? Backends.select() : Backends.select(backend)) {
            if (noProgress) {
                results = CapacityExperiment.run(b, config);
            } else {
                try (ConsoleProgress progress = new ConsoleProgress(System.err)) {
                    results = CapacityExperiment.run(b, config, progress);
                }
            }
        }
        stdout.println(CapacityTable.render(results));
        Path summary = out.resolve("recall-capacity.csv");
        Path runs = out.resolve("recall-capacity-runs.csv");
        Path stateChart = out.resolve("recall-state-size.png");
        Path windowChart = out.resolve("recall-window.png");
        CapacityCsv.writeSummary(results, summary);
        CapacityCsv.writeRuns(results, runs);
        CapacityCharts.writePng(CapacityCharts.stateSizeChart(results), stateChart);
        CapacityCharts.writePng(CapacityCharts.windowChart(results), windowChart);
        stdout.println("wrote " + summary + ", " + runs + ", " + stateChart + ", " + windowChart);
        return 0;
    }
}
