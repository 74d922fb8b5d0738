package dev.based4j.recall.capacity;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Writes results as CSV (RFC 4180, comma-separated, a header row, {@code .} as the decimal point): one file of
 * summary points and one of every single evaluation.
 */
public final class CapacityCsv {
    /** Columns of {@link #writeSummary}. */
    public static final String SUMMARY_HEADER = "family,mixer,key_dim,feature_dim,lookback,num_kv_pairs,seq_len,"
            + "vocab_size,value_dim,state_bytes,accuracy_mean,accuracy_std,accuracy_min,accuracy_max,seeds,"
            + "backend,dtype";
    /** Columns of {@link #writeRuns}. */
    public static final String RUNS_HEADER = "family,mixer,num_kv_pairs,seed_index,data_seed,queries,state_bytes,"
            + "accuracy,millis,backend,dtype";

    private CapacityCsv() {}

    /** Writes one row per (mixer, N): mean, standard deviation, min and max over seeds. */
    public static void writeSummary(CapacityResults results, Path file) {
        CapacityConfig c = results.config();
        StringBuilder out = new StringBuilder(SUMMARY_HEADER).append('\n');
        for (CapacityPoint p : results.summary()) {
            RecallMixer m = p.mixer();
            out.append(String.join(",", quote(m.family()), quote(m.label()), Integer.toString(m.keyDim()),
                    m.linearMap().map(f -> Integer.toString(f.outputDim())).orElse(""),
                    m.lookback().map(String::valueOf).orElse(""), Integer.toString(p.numKvPairs()),
                    Integer.toString(c.seqLen()), Integer.toString(c.vocabSize()), Integer.toString(c.valueDim()),
                    Long.toString(p.stateBytes()), number(p.mean()), number(p.stdDev()), number(p.min()),
                    number(p.max()), Integer.toString(p.seeds()), quote(results.backend()), c.dtype().label()))
                    .append('\n');
        }
        write(file, out);
    }

    /** Writes one row per evaluation. */
    public static void writeRuns(CapacityResults results, Path file) {
        StringBuilder out = new StringBuilder(RUNS_HEADER).append('\n');
        for (CapacityMeasurement m : results.measurements()) {
            out.append(String.join(",", quote(m.mixer().family()), quote(m.mixer().label()),
                    Integer.toString(m.numKvPairs()), Integer.toString(m.seedIndex()), Long.toString(m.dataSeed()),
                    Long.toString(m.queries()), Long.toString(m.stateBytes()), number(m.accuracy()),
                    Long.toString(m.nanos() / 1_000_000), quote(results.backend()),
                    results.config().dtype().label())).append('\n');
        }
        write(file, out);
    }

    private static String number(double x) {
        return String.format(Locale.ROOT, "%.6f", x);
    }

    /** Quotes a field when it holds a comma, a quote or a line break, doubling inner quotes. */
    static String quote(String field) {
        if (field.indexOf(',') < 0 && field.indexOf('"') < 0 && field.indexOf('\n') < 0 && field.indexOf('\r') < 0) {
            return field;
        }
        return '"' + field.replace("\"", "\"\"") + '"';
    }

    private static void write(Path file, CharSequence text) {
        if (file == null) {
            throw new IllegalArgumentException("file: expected a path, got null");
        }
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                w.append(text);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }
}
