package dev.based4j.recall.capacity;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The two figures, shaped like the BASED paper's, one panel per N side by side, accuracy in percent with the
 * standard deviation over seeds as error bars:
 * <ul>
 *   <li>{@link #stateSizeChart}: accuracy against state size (log scale), one series per feature map, plus the
 *       sliding window, the fused layer and full attention;</li>
 *   <li>{@link #windowChart}: accuracy against the window's lookback for the window alone, the fused layer (linear
 *       plus window), and as flat lines linear attention alone and full attention.</li>
 * </ul>
 */
public final class CapacityCharts {
    /** Width of one panel in pixels. */
    public static final int PANEL_WIDTH = 520;
    /** Height of one panel in pixels. */
    public static final int PANEL_HEIGHT = 420;

    private static final Color[] PALETTE = {
        new Color(0xD6, 0x27, 0x28), new Color(0x1F, 0x77, 0xB4), new Color(0x2C, 0xA0, 0x2C),
        new Color(0x94, 0x67, 0xBD), new Color(0x8C, 0x56, 0x4B), new Color(0xE3, 0x77, 0xC2),
        new Color(0x7F, 0x7F, 0x7F), new Color(0xFF, 0x7F, 0x0E), new Color(0x17, 0xBE, 0xCF),
        new Color(0x00, 0x00, 0x00)
    };

    private CapacityCharts() {}

    /** @return one panel per N: accuracy against state size in KiB, a series per family */
    public static List<XYChart> stateSizeChart(CapacityResults results) {
        List<XYChart> panels = new ArrayList<>();
        List<String> families = results.config().mixers().stream().map(RecallMixer::family).distinct().toList();
        for (int n : results.config().kvPairs()) {
            XYChart chart = panel(results, n, "state size per sequence (KiB, log scale)");
            chart.getStyler().setXAxisLogarithmic(true);
            int colour = 0;
            for (String family : families) {
                List<CapacityPoint> points = results.summary().stream()
                        .filter(p -> p.numKvPairs() == n && p.mixer().family().equals(family))
                        .sorted(Comparator.comparingLong(CapacityPoint::stateBytes))
                        .toList();
                Color c = PALETTE[colour++ % PALETTE.length];
                if (points.isEmpty()) {
                    continue;
                }
                XYSeries s = chart.addSeries(seriesName(family, points), points.stream()
                                .mapToDouble(p -> p.stateBytes() / 1024.0).toArray(),
                        percent(points, CapacityPoint::mean), percent(points, CapacityPoint::stdDev));
                s.setLineColor(c);
                s.setMarkerColor(c);
                s.setMarker(SeriesMarkers.CIRCLE);
            }
            panels.add(chart);
        }
        // the last panel (most pairs) has the least in its top left corner
        legendOn(panels, panels.size() - 1, Styler.LegendPosition.InsideNW);
        return panels;
    }

    /**
     * @return one panel per N: accuracy against lookback for the window alone and the fused layer, with linear
     *     attention alone (the fused layer's feature map) and full attention as flat lines
     */
    public static List<XYChart> windowChart(CapacityResults results) {
        List<XYChart> panels = new ArrayList<>();
        for (int n : results.config().kvPairs()) {
            XYChart chart = panel(results, n, "window lookback (tokens, log2 scale)");
            // x is log2 of the lookback so that every doubling gets a labelled tick
            chart.setCustomXAxisTickLabelsFormatter(CapacityCharts::powerOfTwoLabel);
            List<CapacityPoint> window = byLookback(results, n, RecallMixer.Window.class);
            List<CapacityPoint> fused = byLookback(results, n, RecallMixer.Fused.class);
            List<CapacityPoint> all = new ArrayList<>(window);
            all.addAll(fused);
            if (all.isEmpty()) {
                panels.add(chart);
                continue;
            }
            double lo = all.stream().mapToDouble(p -> log2(p.mixer().lookback().orElseThrow())).min().orElseThrow();
            double hi = all.stream().mapToDouble(p -> log2(p.mixer().lookback().orElseThrow())).max().orElseThrow();
            if (!fused.isEmpty()) {
                RecallMixer.Linear alone = new RecallMixer.Linear(fused.getFirst().mixer().linearMap().orElseThrow());
                results.point(alone, n).ifPresent(p -> flat(chart, "linear alone (" + alone.label() + ")", p, lo, hi,
                        PALETTE[0]));
            }
            if (!window.isEmpty()) {
                lookbackSeries(chart, "window alone (softmax, d=" + window.getFirst().mixer().keyDim() + ")",
                        window, PALETTE[1]);
            }
            if (!fused.isEmpty()) {
                lookbackSeries(chart, "linear + window (fused, "
                        + new RecallMixer.Linear(fused.getFirst().mixer().linearMap().orElseThrow()).label() + ")",
                        fused, PALETTE[2]);
            }
            results.summary().stream()
                    .filter(p -> p.numKvPairs() == n && p.mixer() instanceof RecallMixer.FullAttention)
                    .findFirst()
                    .ifPresent(p -> flat(chart, "full attention (" + p.mixer().label() + ")", p, lo, hi,
                            PALETTE[9]));
            panels.add(chart);
        }
        legendOn(panels, 0, Styler.LegendPosition.InsideSE);
        return panels;
    }

    /** Writes panels side by side into one PNG file. */
    public static void writePng(List<XYChart> panels, Path file) {
        if (panels == null || panels.isEmpty()) {
            throw new IllegalArgumentException("panels: expected at least one chart, got " + panels);
        }
        if (file == null) {
            throw new IllegalArgumentException("file: expected a path, got null");
        }
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (var out = Files.newOutputStream(file)) {
                BitmapEncoder.saveBitmap(panels, 1, panels.size(), out, BitmapEncoder.BitmapFormat.PNG);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }

    private static XYChart panel(CapacityResults results, int n, String xTitle) {
        CapacityConfig c = results.config();
        XYChart chart = new XYChartBuilder().width(PANEL_WIDTH).height(PANEL_HEIGHT)
                .title("MQAR N=" + n + " pairs, L=" + c.seqLen() + " (" + results.backend() + " " + c.dtype().label()
                        + ")")
                .xAxisTitle(xTitle).yAxisTitle("accuracy (%)").theme(Styler.ChartTheme.XChart).build();
        chart.getStyler().setYAxisMin(0.0).setYAxisMax(100.0);
        chart.getStyler().setErrorBarsColorSeriesColor(true);
        chart.getStyler().setMarkerSize(6);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setLegendBackgroundColor(new Color(255, 255, 255, 220));
        chart.getStyler().setLegendFont(chart.getStyler().getLegendFont().deriveFont(10f));
        return chart;
    }

    private static void legendOn(List<XYChart> panels, int index, Styler.LegendPosition position) {
        for (int i = 0; i < panels.size(); i++) {
            panels.get(i).getStyler().setLegendVisible(i == index);
            panels.get(i).getStyler().setLegendPosition(position);
        }
    }

    private static List<CapacityPoint> byLookback(CapacityResults results, int n, Class<? extends RecallMixer> kind) {
        return results.summary().stream()
                .filter(p -> p.numKvPairs() == n && kind.isInstance(p.mixer()))
                .sorted(Comparator.comparingInt(p -> p.mixer().lookback().orElseThrow()))
                .toList();
    }

    private static void lookbackSeries(XYChart chart, String name, List<CapacityPoint> points, Color c) {
        XYSeries s = chart.addSeries(name,
                points.stream().mapToDouble(p -> log2(p.mixer().lookback().orElseThrow())).toArray(),
                percent(points, CapacityPoint::mean), percent(points, CapacityPoint::stdDev));
        s.setLineColor(c);
        s.setMarkerColor(c);
        s.setMarker(SeriesMarkers.CIRCLE);
    }

    private static void flat(XYChart chart, String name, CapacityPoint p, double lo, double hi, Color c) {
        XYSeries s = chart.addSeries(name, new double[] {lo, hi}, new double[] {100 * p.mean(), 100 * p.mean()});
        s.setLineColor(c);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f},
                0f));
    }

    private static String seriesName(String family, List<CapacityPoint> points) {
        String name = switch (family) {
            case "taylor" -> "Taylor";
            case "poselu" -> "PosELU";
            case "relu" -> "ReLU";
            case "square" -> "Square";
            case "cosformer" -> "CosFormer";
            case "performer" -> "Performer";
            case "window" -> "sliding window";
            case "fused" -> "linear + window (fused)";
            case "attention" -> "full attention";
            default -> family;
        };
        return name + " (" + points.size() + (points.size() == 1 ? " size)" : " sizes)");
    }

    private static double log2(int lookback) {
        // a lookback of 0 (the token alone) sits one step left of 1
        return lookback == 0 ? -1 : Math.log(lookback) / Math.log(2);
    }

    /** Labels whole log2 positions with their power of two and leaves the in-between ticks blank. */
    static String powerOfTwoLabel(Double x) {
        double r = Math.rint(x);
        if (Math.abs(x - r) > 1e-9 || r < 0 || r > 62) {
            return "";
        }
        return Long.toString(1L << (long) r);
    }

    private static double[] percent(List<CapacityPoint> points, java.util.function.ToDoubleFunction<CapacityPoint> f) {
        return points.stream().mapToDouble(p -> 100 * f.applyAsDouble(p)).toArray();
    }
}
