package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandLineTest {
    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Based4j.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(status, out.toString(), err.toString());
    }

    static Path unseenGolden() throws URISyntaxException {
        return Path.of(CommandLineTest.class.getResource("/golden-unseen").toURI());
    }

    @Test
    void infoListsTheCpuBackendAsUsableWithItsPrecisions() {
        Run r = run("info");
        assertThat(r.status()).isZero();
        assertThat(r.out()).containsPattern("cpu\\s+priority \\d+\\s+usable").contains("precisions: f32, f64")
                .contains("-Dbased4j.backend / BASED4J_BACKEND");
    }

    @Test
    void demoDecodesFromTheStatePrefillLeftAndSaysSo() {
        Run r = run("demo", "--backend", "cpu", "--prompt-tokens", "40", "--decode-tokens", "3");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("prefill   40 tokens").contains("decode    3 tokens")
                .containsPattern("carried   decode after prefill\\(40\\) vs prefill\\(41\\): max relative difference \\d")
                .contains("generate  tiny seeded BASED model");
    }

    @Test
    void demoWarmsUpOnAScratchStateFirstAndTheWarmUpChangesNoTokenAndNoFigureOfTheCheck() {
        Run warm = run("demo", "--backend", "cpu", "--prompt-tokens", "40", "--decode-tokens", "3");
        Run cold = run("demo", "--backend", "cpu", "--prompt-tokens", "40", "--decode-tokens", "3", "--no-warm-up");
        assertThat(warm.status()).as(warm.err()).isZero();
        assertThat(cold.status()).as(cold.err()).isZero();
        assertThat(warm.out()).containsPattern("warm-up   prefill 40 tokens and 3 planned decode steps on a scratch"
                + " state: \\d+\\.\\d\\d s \\(before the first timed call; --no-warm-up skips it\\)")
                .contains("cold (the first call after the warm-up)");
        assertThat(cold.out()).doesNotContain("warm-up").contains("cold (the run's first call)");
        assertThat(lineStartingWith(warm.out(), "tokens")).isEqualTo(lineStartingWith(cold.out(), "tokens"));
        assertThat(lineStartingWith(warm.out(), "carried")).isEqualTo(lineStartingWith(cold.out(), "carried"));
        assertThat(lineStartingWith(warm.out(), "generate")).isEqualTo(lineStartingWith(cold.out(), "generate"));
    }

    private static String lineStartingWith(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no line starting with '" + prefix + "' in:\n" + text));
    }

    @Nested
    class Conformance {
        @Test
        void passesGoldenFoldersItHasNeverSeenAndEndsWithTheSummaryLine() throws Exception {
            Run r = run("conformance", "--backend", "cpu", "--golden-only", "--no-bundled-golden", "--golden",
                    unseenGolden().toString());
            assertThat(r.status()).as(r.out() + r.err()).isZero();
            String[] lines = r.out().strip().split("\\R");
            assertThat(lines[lines.length - 1]).matches("\\d+ passed, 0 failed(, \\d+ skipped)?");
            assertThat(r.out()).contains("sliding").contains("PASS");
        }

        @Test
        void aMissingFolderIsOneLineAndStatusTwo() {
            Run r = run("conformance", "--backend", "cpu", "--golden", "/no/such/folder");
            assertThat(r.status()).isEqualTo(2);
            assertThat(r.err().strip()).isEqualTo("based4j: --golden: folder not found: /no/such/folder");
        }

        @Test
        void anUnknownBackendIsOneLineAndStatusTwo() {
            Run r = run("conformance", "--backend", "nosuch", "--golden-only");
            assertThat(r.status()).isEqualTo(2);
            assertThat(r.err().strip()).startsWith("based4j: backend 'nosuch' not found; known backends: ")
                    .doesNotContain("\n");
        }

        @Test
        void aCaseFoundMalformedOnlyWhileItRunsIsAFormatErrorNotABackendFailure(@TempDir Path dir) throws Exception {
            Path c = dir.resolve("fm_b2h3l5_d8");
            Files.createDirectories(c);
            try (var files = Files.list(unseenGolden().resolve("fm_b2h3l5_d8"))) {
                for (Path f : files.toList()) {
                    Files.copy(f, c.resolve(f.getFileName().toString()));
                }
            }
            // x is read when the case runs; as int32 token ids it cannot be the feature map's input
            Files.writeString(c.resolve("case.json"), Files.readString(c.resolve("case.json"))
                    .replaceFirst("\"dtype\": \"float32\"", "\"dtype\": \"int32\""));
            Run r = run("conformance", "--backend", "cpu", "--golden-only", "--no-bundled-golden", "--golden",
                    dir.toString());
            assertThat(r.status()).as(r.out() + r.err()).isEqualTo(Based4j.USAGE);
            assertThat(r.err().strip()).startsWith("based4j: golden case 'fm_b2h3l5_d8'").contains("int32")
                    .doesNotContain("\n");
            assertThat(r.out()).doesNotContain("FAIL");
        }

        @Test
        void aTimeLimitStopsBetweenCasesWithTheRowsSoFarAndStatus124() {
            Run r = run("conformance", "--backend", "cpu", "--time-limit", "1s");
            assertThat(r.status()).as(r.err()).isEqualTo(Based4j.TIME_LIMIT);
            assertThat(r.err().strip()).matches("based4j: stopped at the time limit \\(--time-limit 1s\\) after \\d+ "
                    + "of \\d+ cases \\(the rows above\\)");
            assertThat(r.out()).containsPattern("\\d+ passed, 0 failed");
        }

        @Test
        void aMalformedCaseIsOneLineNamingTheCaseAndStatusTwo(@TempDir Path dir) throws Exception {
            Path c = dir.resolve("broken_case");
            Files.createDirectories(c);
            Files.writeString(c.resolve("case.json"), "{\"name\": \"broken_case\", \"op\": \"sliding_window_attn\"");
            Run r = run("conformance", "--backend", "cpu", "--golden-only", "--no-bundled-golden", "--golden",
                    dir.toString());
            assertThat(r.status()).isEqualTo(2);
            assertThat(r.err().strip()).startsWith("based4j: ").contains("broken_case").doesNotContain("\n");
        }
    }
}
