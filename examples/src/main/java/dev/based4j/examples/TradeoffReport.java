package dev.based4j.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.recall.capacity.CapacityCharts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * What {@code based4j bench} writes: the table, the JSON document {@code {"machine": {...}, "records": [...]}}
 * (record keys {@link #RECORD_KEYS}, read by other tools), the CSV with the same columns and the PNG chart.
 */
final class TradeoffReport {
    /** The keys of every JSON record and the CSV columns, in order. */
    static final List<String> RECORD_KEYS =
            List.of("backend", "model", "phase", "batch", "context", "tokens_per_s", "gflops");

    private TradeoffReport() {}

    /**
     * @return one row per phase, batch and context: tokens/s of both models, their ratio, and GFLOP/s of both
     */
    static String table(List<Tradeoff.Measurement> records) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-8s %5s %8s %14s %16s %16s %12s %14s%n", "phase", "batch", "context",
                "based tok/s", "attention tok/s", "based/attention", "based GF/s", "attention GF/s"));
        for (String phase : List.of("prefill", "decode")) {
            for (int batch : records.stream().mapToInt(Tradeoff.Measurement::batch).distinct().sorted().toArray()) {
                for (int context : records.stream().mapToInt(Tradeoff.Measurement::context).distinct().sorted()
                        .toArray()) {
                    Optional<Tradeoff.Measurement> b = find(records, Tradeoff.BASED, phase, batch, context);
                    Optional<Tradeoff.Measurement> a = find(records, Tradeoff.ATTENTION, phase, batch, context);
                    if (b.isEmpty() && a.isEmpty()) {
                        continue;
                    }
                    String ratio = b.isPresent() && a.isPresent()
                            ? String.format(Locale.ROOT, "%.2fx", b.get().tokensPerSecond() / a.get().tokensPerSecond())
                            : "-";
                    sb.append(String.format(Locale.ROOT, "%-8s %5d %8d %14s %16s %16s %12s %14s%n", phase, batch,
                            context, rate(b), rate(a), ratio, gflops(b), gflops(a)));
                }
            }
        }
        return sb.toString();
    }

    private static Optional<Tradeoff.Measurement> find(List<Tradeoff.Measurement> records, String model,
            String phase, int batch, int context) {
        return records.stream().filter(r -> r.model().equals(model) && r.phase().equals(phase)
                && r.batch() == batch && r.context() == context).findFirst();
    }

    private static String rate(Optional<Tradeoff.Measurement> m) {
        return m.map(r -> String.format(Locale.ROOT, "%,.1f", r.tokensPerSecond())).orElse("-");
    }

    private static String gflops(Optional<Tradeoff.Measurement> m) {
        return m.map(r -> String.format(Locale.ROOT, "%.2f", r.gflops())).orElse("-");
    }

    /** Writes {@code {"machine": machine, "records": [...]}}, pretty-printed. */
    static void writeJson(Map<String, Object> machine, List<Tradeoff.Measurement> records, Path file) {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        ObjectNode m = root.putObject("machine");
        machine.forEach((k, v) -> m.set(k, mapper.valueToTree(v)));
        ArrayNode array = root.putArray("records");
        for (Tradeoff.Measurement r : records) {
            ObjectNode o = array.addObject();
            o.put("backend", r.backend());
            o.put("model", r.model());
            o.put("phase", r.phase());
            o.put("batch", r.batch());
            o.put("context", r.context());
            o.put("tokens_per_s", r.tokensPerSecond());
            o.put("gflops", r.gflops());
        }
        try {
            createParent(file);
            mapper.writeValue(file.toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes the records as CSV with a header of {@link #RECORD_KEYS}. */
    static void writeCsv(List<Tradeoff.Measurement> records, Path file) {
        StringBuilder sb = new StringBuilder(String.join(",", RECORD_KEYS)).append('\n');
        for (Tradeoff.Measurement r : records) {
            sb.append(String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%.6g,%.6g%n", r.backend(), r.model(), r.phase(),
                    r.batch(), r.context(), r.tokensPerSecond(), r.gflops()));
        }
        try {
            createParent(file);
            Files.writeString(file, sb, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes two panels side by side, prefill and decode tokens/s against context (both axes logarithmic), one
     * series per model and batch.
     */
    static void writeChart(List<Tradeoff.Measurement> records, String title, Path file) {
        List<XYChart> panels = new ArrayList<>();
        for (String phase : List.of("prefill", "decode")) {
            XYChart chart = new XYChartBuilder().width(CapacityCharts.PANEL_WIDTH).height(CapacityCharts.PANEL_HEIGHT)
                    .title(phase + " (" + title + ")").xAxisTitle("context (tokens, log scale)")
                    .yAxisTitle("tokens/s (log scale)").theme(Styler.ChartTheme.XChart).build();
            chart.getStyler().setXAxisLogarithmic(true);
            chart.getStyler().setYAxisLogarithmic(true);
            chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSW);
            Map<String, List<Tradeoff.Measurement>> series = new LinkedHashMap<>();
            for (Tradeoff.Measurement r : records) {
                if (r.phase().equals(phase)) {
                    series.computeIfAbsent(r.model() + " B=" + r.batch(), k -> new ArrayList<>()).add(r);
                }
            }
            series.forEach((name, points) -> {
                points.sort((p, q) -> Integer.compare(p.context(), q.context()));
                XYSeries s = chart.addSeries(name, points.stream().mapToDouble(Tradeoff.Measurement::context).toArray(),
                        points.stream().mapToDouble(Tradeoff.Measurement::tokensPerSecond).toArray());
                s.setMarker(name.startsWith(Tradeoff.BASED) ? SeriesMarkers.CIRCLE : SeriesMarkers.SQUARE);
            });
            panels.add(chart);
        }
        CapacityCharts.writePng(panels, file);
    }

    private static void createParent(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }
}
