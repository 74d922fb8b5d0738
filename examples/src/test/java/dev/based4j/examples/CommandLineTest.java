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
