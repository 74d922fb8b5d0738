package dev.based4j.recall.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Taylor;
import dev.based4j.tensor.DType;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writers on hand-made results: no backend needed. */
class CapacityWritersTest {
    private static final RecallMixer TAYLOR = new RecallMixer.Linear(new Taylor(16));
    private static final RecallMixer POSELU = new RecallMixer.Linear(new PosElu(273));
    private static final RecallMixer WINDOW_16 = new RecallMixer.Window(16, 16);
    private static final RecallMixer WINDOW_64 = new RecallMixer.Window(16, 64);
    private static final RecallMixer FUSED_16 = new RecallMixer.Fused(new Taylor(16), 16);
    private static final RecallMixer FUSED_64 = new RecallMixer.Fused(new Taylor(16), 64);
    private static final RecallMixer FULL = new RecallMixer.FullAttention(16);
    private static final List<RecallMixer> MIXERS = List.of(TAYLOR, POSELU, WINDOW_16, WINDOW_64, FUSED_16, FUSED_64,
            FULL);

    private static CapacityResults results;

    @BeforeAll
    static void makeResults() {
        System.setProperty("java.awt.headless", "true");
        CapacityConfig config = new CapacityConfig(512, 256, List.of(16, 32), 64, 4, 2, 1, DType.F32, 4, MIXERS);
        List<CapacityMeasurement> ms = new ArrayList<>();
        double[] base = {0.8, 0.02, 0.1, 0.5, 0.75, 0.8, 0.95};
        for (int n : config.kvPairs()) {
            for (int r = 0; r < 2; r++) {
                for (int i = 0; i < MIXERS.size(); i++) {
                    double acc = base[i] * (n == 16 ? 1 : 0.8) + (r == 0 ? 0.01 : -0.01);
                    ms.add(new CapacityMeasurement(MIXERS.get(i), n, r, 100 + r, acc, 4L * n, 1000L * (i + 1),
                            1_000_000));
                }
            }
        }
        results = new CapacityResults(config, "test", "hand-made", ms, List.of(), Duration.ofSeconds(3));
    }

    @Test
    void theSummaryAveragesOverSeedsWithTheSampleStandardDeviation() {
        CapacityPoint p = results.point(TAYLOR, 16).orElseThrow();
        assertThat(p.mean()).isCloseTo(0.8, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(p.stdDev()).as("sample sd of 0.81 and 0.79").isCloseTo(Math.sqrt(2 * 0.0001),
                org.assertj.core.data.Offset.offset(1e-12));
        assertThat(p.min()).isCloseTo(0.79, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(p.seeds()).isEqualTo(2);
        assertThat(results.summary()).hasSize(MIXERS.size() * 2);
    }

    @Test
    void theSummaryCsvHasAHeaderAndOneRowPerMixerAndN(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("sub/recall.csv");
        CapacityCsv.writeSummary(results, file);
        List<String> lines = Files.readAllLines(file);
        assertThat(lines.getFirst()).isEqualTo(CapacityCsv.SUMMARY_HEADER);
        assertThat(lines).hasSize(1 + MIXERS.size() * 2);
        assertThat(lines.get(1)).startsWith("taylor,taylor f=16,16,273,,16,256,512,64,1000,0.800000,");
        assertThat(lines).allSatisfy(l -> assertThat(l.split(",", -1)).hasSize(17));
    }

    @Test
    void theRunsCsvHasOneRowPerEvaluation(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("runs.csv");
        CapacityCsv.writeRuns(results, file);
        List<String> lines = Files.readAllLines(file);
        assertThat(lines.getFirst()).isEqualTo(CapacityCsv.RUNS_HEADER);
        assertThat(lines).hasSize(1 + results.measurements().size());
    }

    @Test
    void csvFieldsWithCommasOrQuotesAreQuoted() {
        assertThat(CapacityCsv.quote("a,b")).isEqualTo("\"a,b\"");
        assertThat(CapacityCsv.quote("say \"x\"")).isEqualTo("\"say \"\"x\"\"\"");
        assertThat(CapacityCsv.quote("taylor f=16")).isEqualTo("taylor f=16");
    }

    @Test
    void theTableListsEveryMixerAndTheEqualStateComparison() {
        String table = CapacityTable.render(results);
        for (RecallMixer m : MIXERS) {
            assertThat(table).contains(m.label());
        }
        assertThat(table).contains("N=16").contains("N=32").contains("80.0% ± 1.4");
        // taylor f=16 and poselu d=273 have hand-made states of 1000 and 2000 bytes: not equal
        assertThat(CapacityTable.equalStateComparisons(results)).isEmpty();
    }

    @Test
    void equalStatesAreComparedSideBySide() {
        List<CapacityMeasurement> ms = results.measurements().stream()
                .map(m -> m.mixer().equals(POSELU) ? new CapacityMeasurement(m.mixer(), m.numKvPairs(), m.seedIndex(),
                        m.dataSeed(), m.accuracy(), m.queries(), 1000, m.nanos()) : m)
                .toList();
        CapacityResults equal = new CapacityResults(results.config(), "test", "x", ms, List.of(), Duration.ZERO);
        assertThat(CapacityTable.equalStateComparisons(equal)).hasSize(2)
                .first().asString().contains("taylor f=16 80.0%").contains("poselu d=273 2.0%");
    }

    @Test
    void theChartsHaveOnePanelPerNumberOfPairs(@TempDir Path dir) throws IOException {
        Path state = dir.resolve("state.png");
        Path window = dir.resolve("window.png");
        CapacityCharts.writePng(CapacityCharts.stateSizeChart(results), state);
        CapacityCharts.writePng(CapacityCharts.windowChart(results), window);
        for (Path p : List.of(state, window)) {
            BufferedImage image = ImageIO.read(p.toFile());
            assertThat(image.getWidth()).as("width of %s", p).isEqualTo(2 * CapacityCharts.PANEL_WIDTH);
            assertThat(image.getHeight()).isEqualTo(CapacityCharts.PANEL_HEIGHT);
        }
        assertThat(CapacityCharts.stateSizeChart(results).getFirst().getSeriesMap()).containsKeys(
                "Taylor (1 size)", "sliding window (2 sizes)", "linear + window (fused) (2 sizes)");
        assertThat(CapacityCharts.windowChart(results).getFirst().getSeriesMap()).hasSize(4);
    }

    @Test
    void lookbackTicksAreLabelledWithPowersOfTwo() {
        assertThat(CapacityCharts.powerOfTwoLabel(4.0)).isEqualTo("16");
        assertThat(CapacityCharts.powerOfTwoLabel(9.0)).isEqualTo("512");
        assertThat(CapacityCharts.powerOfTwoLabel(4.5)).isEmpty();
    }
}
