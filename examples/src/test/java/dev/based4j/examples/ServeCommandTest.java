package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.based4j.examples.GenerateCommandTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServeCommandTest {
    @TempDir
    Path dir;

    @Nested
    class Serve {
        @Test
        void refusesAWeightFormatItDoesNotHave() {
            Run r = GenerateCommandTest.run("serve", "--tiny-seed", "1", "--weights", "bf16");
            assertThat(r.status()).isEqualTo(Based4j.USAGE);
            assertThat(r.err()).contains("--weights: only f32 is available, got 'bf16'");
        }

        @Test
        void refusesAnUnknownStackNamingTheChoices() {
            Run r = GenerateCommandTest.run("serve", "--stack", "mamba-small", "--backend", "cpu", "--port", "0");
            assertThat(r.status()).isEqualTo(Based4j.USAGE);
            assertThat(r.err()).contains("--stack: expected based-small, attention-small, based-360m or"
                    + " attention-360m, got 'mamba-small'");
        }

        @Test
        void refusesZeroSequenceSlotsNamingTheOption() {
            Run r = GenerateCommandTest.run("serve", "--tiny-seed", "1", "--max-sequences", "0", "--port", "0");
            assertThat(r.status()).isEqualTo(Based4j.USAGE);
            assertThat(r.err()).contains("option --max-sequences").contains("expected 1..4096, got 0");
        }
    }

    @Nested
    class Loadtest {
        @Test
        void aChartNeedsTheJsonFileItDraws() {
            Run r = GenerateCommandTest.run("loadtest", "--chart", dir.resolve("c.png").toString());
            assertThat(r.status()).isEqualTo(Based4j.USAGE);
            assertThat(r.err()).contains("--chart: needs --json FILE");
        }

        @Test
        void drawsEveryRunOfAResultsFile() throws Exception {
            Path json = dir.resolve("runs.json");
            Files.writeString(json, """
                    {"runs": [
                      {"label": "based", "context": 1024, "levels": [
                        {"concurrency": 1, "tokens_per_s": 100, "tpot_p50_ms": 2},
                        {"concurrency": 8, "tokens_per_s": 500, "tpot_p50_ms": 4}]},
                      {"label": "attention", "context": 1024, "levels": [
                        {"concurrency": 1, "tokens_per_s": 90, "tpot_p50_ms": 3},
                        {"concurrency": 8, "tokens_per_s": 200, "tpot_p50_ms": 9}]}]}
                    """);
            Path png = dir.resolve("chart.png");
            LoadtestCommand.writeChart(new ObjectMapper().readTree(json.toFile()), png);
            assertThat(png).exists();
            assertThat(Files.size(png)).isGreaterThan(1000);
        }
    }
}
