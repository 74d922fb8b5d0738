package dev.based4j.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.recall.capacity.CapacityCharts;
import java.awt.Color;
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
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * What {@code based4j bench} writes: the table, the JSON document {@code {"machine": {...}, "records": [...]}}
 * (record keys {@link #RECORD_KEYS}, read by other tools; the schema is in {@code docs/performance.md}), the CSV
 * with the same columns and the PNG chart. A point flagged as faster than the machine can compute
 * ({@link Tradeoff.Measurement#flag()}) keeps its figures in JSON and CSV, with the flag beside them, but the table
 * shows {@code !} in their place and says why below it.
 */
final class TradeoffReport {
    /** The keys of every JSON record and the CSV columns, in order. */
    static final List<String> RECORD_KEYS = List.of("backend", "model", "phase", "batch", "context", "repeats",
            "tokens_per_s", "tokens_per_s_min", "tokens_per_s_max", "gflops", "gflops_min", "gflops_max", "flag");
    /** What the table shows in place of a flagged point's figures. */
    static final String FLAGGED = "!";

    private TradeoffReport() {}

    /**
     * @return one row per phase, batch and context: per model the median tokens/s and the range of the repeats, the
     *     ratio of the medians, and the median GFLOP/s; then a footnote per flagged point
     */
    static String table(List<Tradeoff.Measurement> records) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"phase", "batch", "context", "based tok/s", "(min..max)", "attention tok/s",
            "(min..max)", "based/attention", "based GF/s", "attention GF/s"});
        List<String> notes = new ArrayList<>();
        for (String phase : List.of(Tradeoff.PREFILL, Tradeoff.DECODE)) {
            for (int batch : records.stream().mapToInt(Tradeoff.Measurement::batch).distinct().sorted().toArray()) {
                for (int context : records.stream().mapToInt(Tradeoff.Measurement::context).distinct().sorted()
                        .toArray()) {
                    Optional<Tradeoff.Measurement> b = find(records, Tradeoff.BASED, phase, batch, context);
                    Optional<Tradeoff.Measurement> a = find(records, Tradeoff.ATTENTION, phase, batch, context);
                    if (b.isEmpty() && a.isEmpty()) {
                        continue;
                    }
                    String ratio = result(b).isPresent() && result(a).isPresent()
                            ? String.format(Locale.ROOT, "%.2fx", b.get().tokensPerSecond().median()
                                    / a.get().tokensPerSecond().median())
                            : "-";
                    rows.add(new String[] {phase, Integer.toString(batch), Integer.toString(context), rate(b), range(b),
                        rate(a), range(a), ratio, gflops(b), gflops(a)});
                    b.filter(Tradeoff.Measurement::flagged).ifPresent(m -> notes.add(note(m)));
                    a.filter(Tradeoff.Measurement::flagged).ifPresent(m -> notes.add(note(m)));
                }
            }
        }
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                if (i > 0) {
                    line.append("  ");
                }
                // the phase reads left-aligned, the figures right-aligned
                line.append(i == 0 ? pad(row[i], widths[i], false) : pad(row[i], widths[i], true));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        for (String note : notes) {
            sb.append(note).append('\n');
        }
        if (records.stream().anyMatch(m -> m.flagged() && m.repeats() > 0)) {
            sb.append(FLAGGED).append(" not a result: faster than this machine can compute, so the timing did not wait "
                    + "for the device or the FLOP count overstates the work\n");
        }
        return sb.toString();
    }

    private static String pad(String s, int width, boolean right) {
        String space = " ".repeat(width - s.length());
        return right ? space + s : s + space;
    }

    private static String note(Tradeoff.Measurement m) {
        if (m.repeats() == 0) {
            return String.format(Locale.ROOT, "%s %s %s B=%d context %d: %s", FLAGGED, m.model(), m.phase(),
                    m.batch(), m.context(), m.flag());
        }
        return String.format(Locale.ROOT, "%s %s %s B=%d context %d: %s, timed at %s tokens/s (median of %d)",
                FLAGGED, m.model(), m.phase(), m.batch(), m.context(), m.flag(), number(m.tokensPerSecond().median()),
                m.repeats());
    }

    private static Optional<Tradeoff.Measurement> find(List<Tradeoff.Measurement> records, String model,
            String phase, int batch, int context) {
        return records.stream().filter(r -> r.model().equals(model) && r.phase().equals(phase)
                && r.batch() == batch && r.context() == context).findFirst();
    }

    /** @return the measurement when it is a result (present and not flagged) */
    private static Optional<Tradeoff.Measurement> result(Optional<Tradeoff.Measurement> m) {
        return m.filter(r -> !r.flagged());
    }

    private static String rate(Optional<Tradeoff.Measurement> m) {
        return m.map(r -> r.flagged() ? FLAGGED : number(r.tokensPerSecond().median())).orElse("-");
    }

    private static String range(Optional<Tradeoff.Measurement> m) {
        return m.map(r -> r.flagged() ? FLAGGED
                : "(" + number(r.tokensPerSecond().min()) + ".." + number(r.tokensPerSecond().max()) + ")")
                .orElse("-");
    }

    private static String gflops(Optional<Tradeoff.Measurement> m) {
        return m.map(r -> r.flagged() ? FLAGGED : String.format(Locale.ROOT, "%.2f", r.gflops().median()))
                .orElse("-");
    }

    /** @return tokens/s with digits to match their size: {@code 20,999}, {@code 140.1} */
    private static String number(double v) {
        return String.format(Locale.ROOT, v >= 1000 ? "%,.0f" : "%,.1f", v);
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
            o.put("repeats", r.repeats());
            o.put("tokens_per_s", r.tokensPerSecond().median());
            o.put("tokens_per_s_min", r.tokensPerSecond().min());
            o.put("tokens_per_s_max", r.tokensPerSecond().max());
            o.put("gflops", r.gflops().median());
            o.put("gflops_min", r.gflops().min());
            o.put("gflops_max", r.gflops().max());
            o.put("flag", r.flag());
        }
        try {
            createParent(file);
            mapper.writeValue(file.toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes the records as CSV with a header of {@link #RECORD_KEYS}; an empty {@code flag} is no flag. */
    static void writeCsv(List<Tradeoff.Measurement> records, Path file) {
        StringBuilder sb = new StringBuilder(String.join(",", RECORD_KEYS)).append('\n');
        for (Tradeoff.Measurement r : records) {
            sb.append(String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%s%n", r.backend(),
                    r.model(), r.phase(), r.batch(), r.context(), r.repeats(), r.tokensPerSecond().median(),
                    r.tokensPerSecond().min(), r.tokensPerSecond().max(), r.gflops().median(), r.gflops().min(),
                    r.gflops().max(), r.flagged() ? quoted(r.flag()) : ""));
        }
        try {
            createParent(file);
            Files.writeString(file, sb, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }

    /** @return {@code s} as one RFC 4180 field: in double quotes, inner quotes doubled */
    private static String quoted(String s) {
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    /**
     * Writes two panels side by side, prefill and decode tokens/s against context (both axes logarithmic), one
     * series per model and batch: the median repeat as a line with markers, and a bar from the slowest to the
     * fastest repeat at every point. Flagged points are left out (they are not results).
     */
    static void writeChart(List<Tradeoff.Measurement> records, String title, Path file) {
        List<XYChart> panels = new ArrayList<>();
        for (String phase : List.of(Tradeoff.PREFILL, Tradeoff.DECODE)) {
            XYChart chart = new XYChartBuilder().width(CapacityCharts.PANEL_WIDTH).height(CapacityCharts.PANEL_HEIGHT)
                    .title(phase + " (" + title + ")").xAxisTitle("context (tokens, log scale)")
                    .yAxisTitle("tokens/s (log scale; bars: slowest to fastest repeat)")
                    .theme(Styler.ChartTheme.XChart).build();
            chart.getStyler().setXAxisLogarithmic(true);
            chart.getStyler().setYAxisLogarithmic(true);
            chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSW);
            chart.getStyler().setErrorBarsColorSeriesColor(true);
            Color[] palette = chart.getStyler().getSeriesColors();
            Map<String, List<Tradeoff.Measurement>> series = new LinkedHashMap<>();
            for (Tradeoff.Measurement r : records) {
                if (r.phase().equals(phase) && !r.flagged()) {
                    series.computeIfAbsent(r.model() + " B=" + r.batch(), k -> new ArrayList<>()).add(r);
                }
            }
            if (series.isEmpty()) {
                chart.setTitle(chart.getTitle() + ": no unflagged points");
            }
            int index = 0;
            for (Map.Entry<String, List<Tradeoff.Measurement>> e : series.entrySet()) {
                String name = e.getKey();
                List<Tradeoff.Measurement> points = e.getValue();
                points.sort((p, q) -> Integer.compare(p.context(), q.context()));
                Color color = palette[index++ % palette.length];
                double[] x = points.stream().mapToDouble(Tradeoff.Measurement::context).toArray();
                XYSeries median = chart.addSeries(name, x,
                        points.stream().mapToDouble(m -> m.tokensPerSecond().median()).toArray());
                median.setMarker(name.startsWith(Tradeoff.BASED) ? SeriesMarkers.CIRCLE : SeriesMarkers.SQUARE);
                median.setLineColor(color);
                median.setMarkerColor(color);
                // XChart's error bars are symmetric: a companion series centred between the slowest and the fastest
                // repeat, drawing only its bars, spans exactly min..max
                XYSeries spread = chart.addSeries(name + " min..max", x,
                        points.stream().mapToDouble(m -> (m.tokensPerSecond().min() + m.tokensPerSecond().max()) / 2)
                                .toArray(),
                        points.stream().mapToDouble(m -> (m.tokensPerSecond().max() - m.tokensPerSecond().min()) / 2)
                                .toArray());
                spread.setMarker(SeriesMarkers.NONE);
                spread.setLineStyle(SeriesLines.NONE);
                spread.setLineColor(color);
                spread.setShowInLegend(false);
            }
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
