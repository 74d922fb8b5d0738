package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The pieces that keep a run safe: output checks, stopping, and the one-line error style. */
class RunSafetyTest {
    @Nested
    class Outputs {
        @Test
        void aNewFileInFoldersStillToBeCreatedIsAccepted(@TempDir Path dir) {
            assertThatCode(() -> OutputFiles.checkFile("--json", dir.resolve("a/b/c.json")))
                    .doesNotThrowAnyException();
            assertThat(dir.resolve("a")).as("a check creates nothing").doesNotExist();
        }

        @Test
        void anExistingFileIsAcceptedAndLeftAlone(@TempDir Path dir) throws IOException {
            Path f = Files.writeString(dir.resolve("old.csv"), "kept");
            OutputFiles.checkFile("--csv", f);
            assertThat(f).hasContent("kept");
        }

        @Test
        void aFolderIsRefusedAsAFile(@TempDir Path dir) {
            assertThatThrownBy(() -> OutputFiles.checkFile("--json", dir)).isInstanceOf(Based4j.UserError.class)
                    .hasMessage("--json: " + dir + " is a folder; expected a file to write");
        }

        @Test
        void aDeviceIsRefused() {
            Path full = Path.of("/dev/full");
            org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(full), "/dev/full exists here");
            assertThatThrownBy(() -> OutputFiles.checkFile("--csv", full)).hasMessageContaining("--csv: /dev/full")
                    .hasMessageContaining("not a regular file");
        }

        @Test
        void aPathUnderAFileIsRefusedNamingTheFile(@TempDir Path dir) throws IOException {
            Path file = Files.writeString(dir.resolve("plain"), "x");
            assertThatThrownBy(() -> OutputFiles.checkFile("--chart", file.resolve("sub/chart.png")))
                    .hasMessageContaining("--chart").hasMessageContaining(file + " is not a folder");
            assertThatThrownBy(() -> OutputFiles.checkFolder("--out", file))
                    .hasMessage("--out: " + file + " exists and is not a folder");
        }

        @Test
        void aWriteThatFailsAnywayNamesTheOptionAndTheReason(@TempDir Path dir) {
            Path f = dir.resolve("r.json");
            assertThatThrownBy(() -> OutputFiles.write("--json", f, () -> {
                throw new UncheckedIOException("could not write", new IOException("No space left on device"));
            })).isInstanceOf(Based4j.UserError.class)
                    .hasMessage("--json: writing " + f + " failed: No space left on device");
        }
    }

    @Nested
    class Stopping {
        @Test
        void aTimeLimitStopsTheRunAtItsNextCheckWithStatus124() throws Exception {
            try (RunControl control = RunControl.open()) {
                control.limitTime(Duration.ofMillis(50), "50ms");
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (!control.stopRequested() && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertThatThrownBy(control::check).isInstanceOf(RunControl.Stopped.class)
                        .hasMessage("stopped at the time limit (--time-limit 50ms)")
                        .satisfies(e -> assertThat(((RunControl.Stopped) e).reason().status()).isEqualTo(124));
            }
        }

        @Test
        void ctrlCStopsEveryOpenRunAndRunsTheirStopActionsOnce() {
            AtomicInteger cancelled = new AtomicInteger();
            try (RunControl control = RunControl.open()) {
                control.onStop(cancelled::incrementAndGet);
                RunControl.interruptAll();
                RunControl.interruptAll();
                assertThat(cancelled).hasValue(1);
                assertThat(control.stopped("after 3 of 9 points").getMessage())
                        .isEqualTo("interrupted (Ctrl-C) after 3 of 9 points");
                assertThat(control.stopped("").reason().status()).isEqualTo(Based4j.INTERRUPTED);
            }
        }

        @Test
        void aClosedRunIsNotStoppedByALaterCtrlC() {
            RunControl control = RunControl.open();
            control.close();
            RunControl.interruptAll();
            assertThat(control.stopRequested()).isFalse();
        }

        @Test
        void durationsAreReadInTheUsualUnitsAndIsoForm() {
            TimeLimit.Converter c = new TimeLimit.Converter();
            assertThat(c.convert("90s")).isEqualTo(Duration.ofSeconds(90));
            assertThat(c.convert("10m")).isEqualTo(Duration.ofMinutes(10));
            assertThat(c.convert("250ms")).isEqualTo(Duration.ofMillis(250));
            assertThat(c.convert("PT1H30M")).isEqualTo(Duration.ofMinutes(90));
            for (String bad : new String[] {"0s", "-5s", "soon", "400d", "PT-1S", "10"}) {
                assertThatThrownBy(() -> c.convert(bad)).as(bad)
                        .isInstanceOf(CommandLine.TypeConversionException.class).hasMessageContaining(bad);
            }
            assertThat(TimeLimit.Converter.text(Duration.ofMinutes(10))).isEqualTo("10m");
        }
    }

    @Nested
    class ErrorStyle {
        private CommandLine cli(StringWriter err) {
            CommandLine cli = new CommandLine(new Based4j());
            cli.setErr(new PrintWriter(err, true));
            return cli;
        }

        @Test
        void anInternalErrorIsOneLineNamingTheReportFileWhichHoldsTheTrace() throws IOException {
            StringWriter err = new StringWriter();
            int status = Based4j.report(new IllegalStateException("kernel table corrupt"), cli(err),
                    new String[] {"demo", "--seed", "3"});
            assertThat(status).isEqualTo(Based4j.INTERNAL);
            String line = err.toString().strip();
            assertThat(line).doesNotContain("\n").doesNotContain("\tat ")
                    .startsWith("based4j: internal error: IllegalStateException: kernel table corrupt; full report in ");
            Path report = Path.of(line.replaceAll(".*full report in (\\S+) .*", "$1"));
            try {
                assertThat(report.getParent()).isEqualTo(ErrorReport.folder());
                assertThat(Files.readString(report)).contains("command line: based4j demo --seed 3")
                        .contains("java.lang.IllegalStateException: kernel table corrupt").contains("\tat ");
            } finally {
                Files.deleteIfExists(report);
            }
        }

        @Test
        void aNumberReadWithoutACheckNamesTheValueAndWhereItWasRead() throws IOException {
            StringWriter err = new StringWriter();
            int status;
            try {
                Integer.parseInt("99999999999");
                throw new AssertionError("parsed");
            } catch (NumberFormatException e) {
                status = Based4j.report(e, cli(err), new String[] {"info"});
            }
            assertThat(status).isEqualTo(Based4j.USAGE);
            String line = err.toString().strip();
            assertThat(line).doesNotContain("\n")
                    .startsWith("based4j: a value is not a number: For input string: \"99999999999\"")
                    .contains("read by dev.based4j.examples.RunSafetyTest");
            Files.deleteIfExists(Path.of(line.replaceAll(".*full report in (\\S+)\\).*", "$1")));
        }

        @Test
        void outOfMemoryIsOneLineSayingHowMuchTheJvmMayUse() throws IOException {
            StringWriter err = new StringWriter();
            int status = Based4j.report(new OutOfMemoryError("Java heap space"), cli(err), new String[] {"bench"});
            assertThat(status).isEqualTo(Based4j.INTERNAL);
            String line = err.toString().strip();
            assertThat(line).doesNotContain("\n").startsWith("based4j: out of memory (Java heap space)")
                    .contains("-Xmx");
            Files.deleteIfExists(Path.of(line.replaceAll(".*full report in (\\S+)$", "$1")));
        }

        @Test
        void aMultiLineMessageIsPrintedOnOneLine() {
            StringWriter err = new StringWriter();
            Based4j.report(new IllegalArgumentException("first\n   second\r\nthird"), cli(err), new String[0]);
            assertThat(err.toString().strip()).isEqualTo("based4j: first second third");
        }

        @Test
        void aStoppedRunPrintsItsReasonAndStatus() {
            StringWriter err = new StringWriter();
            try (RunControl control = RunControl.open()) {
                control.stop(RunControl.Reason.INTERRUPTED);
                int status = Based4j.report(control.stopped("after 2 of 5 cases"), cli(err), new String[0]);
                assertThat(status).isEqualTo(130);
            }
            assertThat(err.toString().strip()).isEqualTo("based4j: interrupted (Ctrl-C) after 2 of 5 cases");
        }
    }
}
