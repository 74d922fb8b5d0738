package dev.based4j.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.tensor.DType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

class JUnitXmlReportTest {
    private static ResultRow row(String backend, String id, Verdict v, String message) {
        return new ResultRow(backend, id, "silu matches the float64 reference", KernelFamily.PLUMBING, "silu",
                "x [2, 3]", DType.F32, 7, v == Verdict.SKIP ? Double.NaN : 1e-7, 1e-5, v, message);
    }

    private static final List<ResultRow> ROWS = List.of(row("cpu", "plumbing/1", Verdict.PASS, "ok"),
            row("cpu", "plumbing/2", Verdict.FAIL, "off by 3e-2 at element 4 <&>"),
            row("heap", "plumbing/1", Verdict.SKIP, "backend heap does not supply the kernel family plumbing"));

    @Test
    void aSuitePerBackendWithItsCountsAndEveryCaseNamedAsTheKitNamesIt() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JUnitXmlReport.write(out, ROWS);
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(out.toByteArray()));
        Element root = doc.getDocumentElement();
        assertThat(root.getTagName()).isEqualTo("testsuites");
        assertThat(root.getAttribute("tests")).isEqualTo("3");
        assertThat(root.getAttribute("failures")).isEqualTo("1");
        assertThat(root.getAttribute("skipped")).isEqualTo("1");
        var suites = doc.getElementsByTagName("testsuite");
        assertThat(suites.getLength()).isEqualTo(2);
        assertThat(((Element) suites.item(0)).getAttribute("name")).isEqualTo("based4j conformance on cpu");
        Element failed = (Element) doc.getElementsByTagName("testcase").item(1);
        assertThat(failed.getAttribute("name"))
                .isEqualTo("silu matches the float64 reference — x [2, 3], f32, seed 7 [plumbing/2]");
        assertThat(((Element) failed.getElementsByTagName("failure").item(0)).getAttribute("message"))
                .as("escaped and read back").isEqualTo("off by 3e-2 at element 4 <&>");
        Element skipped = (Element) doc.getElementsByTagName("skipped").item(0);
        assertThat(skipped.getAttribute("message")).contains("does not supply the kernel family plumbing");
    }

    @Test
    void replacesTheFileWholeAndLeavesNoTemporaryBehind(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("report.xml");
        Files.writeString(file, "old");
        JUnitXmlReport.write(file, ROWS);
        assertThat(Files.readString(file)).startsWith("<?xml").contains("<testsuites");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }
}
