package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecallCommandTest {
    @Test
    void aSmallRunPrintsTheTableAndWritesBothChartsAndCsvFiles(@TempDir Path dir) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Based4j.run(new PrintWriter(out, true), new PrintWriter(err, true), "recall", "--backend", "cpu",
                "--seq-len", "64", "--vocab", "100", "--pairs", "8,16", "--examples", "2", "--seeds", "1",
                "--lookbacks", "8,16", "--no-progress", "--out", dir.toString());
        assertThat(status).as("exit status; stderr: %s", err).isZero();
        assertThat(out.toString()).contains("taylor f=16").contains("window w=16").contains("attention d=16")
                .contains("N=8").contains("N=16");
        for (String f : new String[] {"recall-capacity.csv", "recall-capacity-runs.csv", "recall-state-size.png",
                "recall-window.png"}) {
            assertThat(dir.resolve(f)).as(f).exists().isNotEmptyFile();
        }
    }

    @Test
    void anImpossibleSegmentIsAUsageError(@TempDir Path dir) {
        StringWriter err = new StringWriter();
        int status = Based4j.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "recall",
                "--backend", "cpu", "--seq-len", "64", "--vocab", "100", "--pairs", "17", "--out", dir.toString());
        assertThat(status).isEqualTo(Based4j.USAGE);
        assertThat(err.toString()).contains("numKvPairs").contains("17");
        assertThat(Files.exists(dir.resolve("recall-capacity.csv"))).isFalse();
    }
}
