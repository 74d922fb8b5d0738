package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** {@code based4j bench} on a tiny configuration: the files, their keys and the table, never the timings. */
class BenchCommandTest {
    private static final String[] TINY = {"bench", "--backend", "cpu", "--contexts", "48,16", "--batches", "2,1",
        "--decode-steps", "2", "--repeats", "3", "--no-progress"};

    private static int run(StringWriter out, StringWriter err, String... extra) {
        List<String> args = new ArrayList<>(List.of(TINY));
        args.addAll(List.of(extra));
        return Based4j.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
    }

    @Test
    void writesOneJsonRecordPerModelPhaseBatchAndContextWithExactlyTheAgreedKeys(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("out/bench.json");
        StringWriter err = new StringWriter();
        int status = run(new StringWriter(), err, "--json", json.toString());
        assertThat(status).as("exit status; stderr: %s", err).isZero();

        JsonNode root = new ObjectMapper().readTree(json.toFile());
        assertThat(root.has("machine")).as("machine object").isTrue();
        assertThat(root.get("machine").get("backend").asText()).isEqualTo("cpu");
        assertThat(root.get("machine").get("repeats").asInt()).isEqualTo(3);
        assertThat(root.get("machine").get("fma_peak_gflops").isNumber()).as("machine.fma_peak_gflops").isTrue();
        assertThat(root.get("machine").get("fma_peak_check").asText()).contains("GFLOP/s");
        JsonNode records = root.get("records");
        assertThat(records.size()).as("2 models x 2 phases x 2 batches x 2 contexts").isEqualTo(16);
        Set<String> combos = new HashSet<>();
        for (JsonNode r : records) {
            List<String> keys = new ArrayList<>();
            r.fieldNames().forEachRemaining(keys::add);
            assertThat(keys).containsExactlyElementsOf(TradeoffReport.RECORD_KEYS);
            assertThat(r.get("model").asText()).isIn("based", "attention");
            assertThat(r.get("phase").asText()).isIn("prefill", "decode");
            assertThat(r.get("batch").asInt()).isIn(1, 2);
            assertThat(r.get("context").asInt()).isIn(16, 48);
            assertThat(r.get("repeats").asInt()).as("repeats").isEqualTo(3);
            for (String figure : List.of("tokens_per_s", "gflops")) {
                double median = r.get(figure).asDouble();
                assertThat(r.get(figure + "_min").asDouble()).as(figure + "_min").isPositive()
                        .isLessThanOrEqualTo(median);
                assertThat(r.get(figure + "_max").asDouble()).as(figure + "_max").isGreaterThanOrEqualTo(median);
            }
            assertThat(r.get("flag").isNull() || r.get("flag").isTextual()).as("flag: null or why").isTrue();
            combos.add(r.get("model").asText() + r.get("phase").asText() + r.get("batch").asInt()
                    + "/" + r.get("context").asInt());
        }
        assertThat(combos).as("distinct (model, phase, batch, context)").hasSize(16);
    }

    @Test
    void printsTheTableAndWritesCsvAndChart(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("bench.csv");
        Path chart = dir.resolve("bench.png");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = run(out, err, "--csv", csv.toString(), "--chart", chart.toString());
        assertThat(status).as("exit status; stderr: %s", err).isZero();

        assertThat(out.toString()).contains("phase", "batch", "context", "based tok/s", "attention tok/s",
                "based/attention", "(min..max)", "peak ");
        List<String> rows = out.toString().lines().filter(l -> l.startsWith("prefill ") || l.startsWith("decode "))
                .toList();
        assertThat(rows).as("table rows: 2 phases x 2 batches x 2 contexts").hasSize(8);
        List<String> lines = Files.readAllLines(csv);
        assertThat(lines.get(0)).isEqualTo(String.join(",", TradeoffReport.RECORD_KEYS));
        assertThat(lines).hasSize(17);
        assertThat(Files.readAllBytes(chart)).as("PNG signature").startsWith(0x89, 'P', 'N', 'G');
    }

    @Test
    void runsOnlyTheChosenModel(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("based.json");
        StringWriter err = new StringWriter();
        int status = run(new StringWriter(), err, "--models", "based", "--json", json.toString());
        assertThat(status).as("exit status; stderr: %s", err).isZero();
        JsonNode records = new ObjectMapper().readTree(json.toFile()).get("records");
        assertThat(records.size()).isEqualTo(8);
        records.forEach(r -> assertThat(r.get("model").asText()).isEqualTo("based"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "101", "-1", "x"})
    void aRepeatCountOutside1To100IsAUsageErrorThatNamesIt(String repeats) {
        StringWriter err = new StringWriter();
        int status = Based4j.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "bench",
                "--backend", "cpu", "--repeats", repeats);
        assertThat(status).isEqualTo(Based4j.USAGE);
        assertThat(err.toString()).contains("--repeats").contains(repeats);
    }

    @Test
    void zeroDecodeStepsIsAUsageError() {
        StringWriter err = new StringWriter();
        int status = Based4j.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "bench",
                "--backend", "cpu", "--decode-steps", "0");
        assertThat(status).isEqualTo(Based4j.USAGE);
        assertThat(err.toString()).contains("--decode-steps").contains("0");
    }

    @Test
    void aContextOfZeroIsAUsageError() {
        StringWriter err = new StringWriter();
        int status = Based4j.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "bench",
                "--backend", "cpu", "--contexts", "0");
        assertThat(status).isEqualTo(Based4j.USAGE);
        assertThat(err.toString()).contains("--contexts").contains("0");
    }

    @Test
    void anUnknownSizeIsAUsageError() {
        StringWriter err = new StringWriter();
        int status = Based4j.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "bench",
                "--backend", "cpu", "--size", "7b");
        assertThat(status).isEqualTo(Based4j.USAGE);
        assertThat(err.toString()).contains("size").contains("7b");
    }
}
