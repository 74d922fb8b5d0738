package dev.based4j.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.recall.capacity.CapacityCharts;
import dev.based4j.server.LoadGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j loadtest}: drives a running {@code based4j serve} (or any OpenAI-compatible server) with
 * {@link LoadGenerator} at several concurrency levels and prints tokens/s, time to first token and time per output
 * token; optionally appends the run to a JSON file and draws every run of that file as a chart.
 */
@Command(name = "loadtest", mixinStandardHelpOptions = true,
        description = {"Load-test an OpenAI-compatible completions server: at each concurrency, that many streaming"
                + " clients send requests back to back, for a bounded number of requests and time.",
                "Prompts are --context token ids: a document shared by all requests and --suffix ids of their own;"
                        + " greedy, ignore_eos, exactly --max-tokens generated."})
final class LoadtestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
            description = "The server (default ${DEFAULT-VALUE}).")
    URI url;

    @Option(names = "--model", paramLabel = "ID", description = "Model id (default: the first GET /v1/models lists).")
    String model;

    @Option(names = "--context", paramLabel = "TOKENS", defaultValue = "1024",
            description = "Prompt tokens per request (default ${DEFAULT-VALUE}).")
    int context;

    @Option(names = "--suffix", paramLabel = "TOKENS", defaultValue = "32",
            description = "Of which unique to each request (default ${DEFAULT-VALUE}).")
    int suffix;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "64",
            description = "Tokens generated per request (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--concurrency", paramLabel = "N", split = ",", defaultValue = "1,8,32,64",
            description = "Concurrency levels (default ${DEFAULT-VALUE}).")
    List<Integer> concurrency;

    @Option(names = "--requests", paramLabel = "N", defaultValue = "64",
            description = "Requests per level at most (default ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--time", paramLabel = "SECONDS", defaultValue = "60",
            description = "No request starts after this long at a level (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "2",
            description = "Requests before the first level (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--vocab", paramLabel = "N", defaultValue = "95",
            description = "Prompt ids are drawn from [0, N) (default ${DEFAULT-VALUE}: printable characters of the"
                    + " seeded models).")
    int vocab;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "7", description = "Seed of the prompts (default"
            + " ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--label", paramLabel = "TEXT", description = "Name of this run in the JSON and the chart"
            + " (default: the model id).")
    String label;

    @Option(names = "--json", paramLabel = "FILE", description = "Append this run to FILE ({\"runs\": [...]}).")
    Path json;

    @Option(names = "--chart", paramLabel = "FILE.png", description = "Draw every run of --json FILE: tokens/s and"
            + " time per output token against concurrency.")
    Path chart;

    @Option(names = "--draw-only", description = "Run nothing: only draw --chart from the runs of --json FILE.")
    boolean drawOnly;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (chart != null && json == null) {
            throw new Based4j.UserError("--chart: needs --json FILE, whose runs it draws");
        }
        if (chart != null && !chart.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            throw new Based4j.UserError("--chart: expected a .png file, got " + chart);
        }
        if (drawOnly) {
            if (chart == null || json == null || !Files.exists(json)) {
                throw new Based4j.UserError("--draw-only: needs --chart FILE.png and an existing --json FILE");
            }
            writeChart(read(json), chart);
            out.println("wrote " + chart);
            out.flush();
            return 0;
        }
        if (seconds < 1) {
            throw new Based4j.UserError("--time: expected >= 1 second, got " + seconds);
        }
        String id = model != null ? model : firstModel();
        LoadGenerator.Settings settings = new LoadGenerator.Settings(url, id, context, suffix, maxTokens, vocab,
                concurrency, requests, Duration.ofSeconds(seconds), warmup, seed);
        double loadBefore = loadAverage();
        out.printf(Locale.ROOT, "loadtest: %s at %s, prompts of %d tokens (%d unique), %d generated; load %.2f%n", id,
                url, context, suffix, maxTokens, loadBefore);
        out.flush();
        Instant started = Instant.now();
        List<LoadGenerator.Level> levels = new LoadGenerator(settings).run(line -> {
            out.println(line);
            out.flush();
        });
        double loadAfter = loadAverage();
        out.printf(Locale.ROOT, "load average %.2f at the start, %.2f at the end%n", loadBefore, loadAfter);
        if (json != null) {
            ObjectNode root = read(json);
            ObjectNode run = root.withArray("runs").addObject();
            run.put("label", label != null ? label : id);
            run.put("model", id);
            run.put("context", context);
            run.put("suffix", suffix);
            run.put("max_tokens", maxTokens);
            run.put("started", started.toString());
            run.put("load_average_start", loadBefore);
            run.put("load_average_end", loadAfter);
            run.put("processors", Runtime.getRuntime().availableProcessors());
            ArrayNode a = run.putArray("levels");
            for (LoadGenerator.Level l : levels) {
                ObjectNode o = a.addObject();
                o.put("concurrency", l.concurrency());
                o.put("requests", l.requests());
                o.put("failures", l.failures());
                o.put("output_tokens", l.outputTokens());
                o.put("seconds", l.seconds());
                o.put("tokens_per_s", l.tokensPerSecond());
                o.put("ttft_p50_ms", l.ttftP50Ms());
                o.put("ttft_p99_ms", l.ttftP99Ms());
                o.put("tpot_p50_ms", l.tpotP50Ms());
                o.put("tpot_p99_ms", l.tpotP99Ms());
                o.put("cached_prompt_tokens", l.cachedTokens());
            }
            write(json, root);
            out.println("appended to " + json);
            if (chart != null) {
                writeChart(root, chart);
                out.println("wrote " + chart);
            }
        }
        out.flush();
        return levels.stream().allMatch(l -> l.failures() == 0) ? 0 : 1;
    }

    private String firstModel() {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        try {
            HttpResponse<String> res = client.send(HttpRequest.newBuilder(url.resolve("/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode data = JSON.readTree(res.body()).path("data");
            if (res.statusCode() != 200 || !data.isArray() || data.isEmpty()) {
                throw new Based4j.UserError("--url: GET " + url.resolve("/v1/models") + " answered " + res.statusCode()
                        + " without a model; give --model");
            }
            return data.get(0).path("id").asText();
        } catch (IOException e) {
            throw new Based4j.UserError("--url: cannot reach " + url + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Based4j.UserError("interrupted");
        }
    }

    private static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    private static ObjectNode read(Path file) {
        if (!Files.exists(file)) {
            return JSON.createObjectNode();
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (!(n instanceof ObjectNode o) || !n.path("runs").isArray()) {
                throw new Based4j.UserError("--json: " + file + " is not a loadtest file ({\"runs\": [...]})");
            }
            return o;
        } catch (IOException e) {
            throw new Based4j.UserError("--json: cannot read " + file + ": " + e.getMessage());
        }
    }

    private static void write(Path file, ObjectNode root) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            JSON.writeValue(file.toFile(), root);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Two panels: aggregate tokens/s and median time per output token against concurrency, a series per label and
     * context; where several runs measured one point (runs repeated to even out a busy machine), their median.
     */
    static void writeChart(JsonNode root, Path file) {
        System.setProperty("java.awt.headless", "true");
        Map<String, String[]> panels = new LinkedHashMap<>();
        panels.put("tokens_per_s", new String[] {"aggregate generated tokens/s", "tokens/s (log scale)"});
        panels.put("tpot_p50_ms", new String[] {"time per output token, p50", "ms (log scale)"});
        List<XYChart> charts = new ArrayList<>();
        for (Map.Entry<String, String[]> p : panels.entrySet()) {
            XYChart c = new XYChartBuilder().width(CapacityCharts.PANEL_WIDTH).height(CapacityCharts.PANEL_HEIGHT)
                    .title(p.getValue()[0]).xAxisTitle("concurrent streams (log scale)").yAxisTitle(p.getValue()[1])
                    .theme(Styler.ChartTheme.XChart).build();
            c.getStyler().setXAxisLogarithmic(true);
            c.getStyler().setYAxisLogarithmic(true);
            c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
            Map<String, java.util.TreeMap<Integer, List<Double>>> series = new LinkedHashMap<>();
            for (JsonNode run : root.path("runs")) {
                String name = run.path("label").asText() + ", context " + run.path("context").asInt();
                for (JsonNode l : run.path("levels")) {
                    double v = l.path(p.getKey()).asDouble(Double.NaN);
                    if (v > 0) {
                        series.computeIfAbsent(name, k -> new java.util.TreeMap<>())
                                .computeIfAbsent(l.path("concurrency").asInt(), k -> new ArrayList<>()).add(v);
                    }
                }
            }
            series.forEach((name, points) -> {
                double[] x = points.keySet().stream().mapToDouble(Integer::doubleValue).toArray();
                double[] y = points.values().stream().mapToDouble(LoadtestCommand::median).toArray();
                XYSeries s = c.addSeries(name, x, y);
                s.setMarker(name.startsWith("based") ? SeriesMarkers.CIRCLE : SeriesMarkers.SQUARE);
            });
            charts.add(c);
        }
        CapacityCharts.writePng(charts, file);
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
