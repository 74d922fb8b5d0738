package dev.based4j.conformance;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Writes conformance results as a JUnit XML report, the format CI systems (Jenkins, GitLab, GitHub's test reporters)
 * read: one {@code <testsuite>} per backend, one {@code <testcase>} per case, named as the JUnit kit names it, with
 * {@code <failure>} or {@code <skipped>} carrying the case's message, and the measured error in
 * {@code <system-out>}.
 */
public final class JUnitXmlReport {
    private JUnitXmlReport() {}

    /**
     * Writes {@code rows} to {@code file}, replacing it atomically (written beside it, then moved); missing folders
     * are created.
     *
     * @throws IOException when the file cannot be written, naming it
     * @throws IllegalArgumentException when an argument is null
     */
    public static void write(Path file, List<ResultRow> rows) throws IOException {
        if (file == null || rows == null) {
            throw new IllegalArgumentException("file, rows: expected values, got " + file + ", " + rows);
        }
        Path target = file.toAbsolutePath();
        Files.createDirectories(target.getParent());
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                write(out, rows);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Writes {@code rows} as JUnit XML (UTF-8) to {@code out}, which stays open. */
    public static void write(OutputStream out, List<ResultRow> rows) throws IOException {
        Map<String, List<ResultRow>> byBackend = new LinkedHashMap<>();
        for (ResultRow r : rows) {
            byBackend.computeIfAbsent(r.backend(), k -> new java.util.ArrayList<>()).add(r);
        }
        try {
            XMLStreamWriter x = XMLOutputFactory.newFactory().createXMLStreamWriter(out, "UTF-8");
            x.writeStartDocument("UTF-8", "1.0");
            x.writeCharacters("\n");
            x.writeStartElement("testsuites");
            x.writeAttribute("name", "based4j conformance");
            counts(x, rows);
            for (var e : byBackend.entrySet()) {
                x.writeCharacters("\n  ");
                x.writeStartElement("testsuite");
                x.writeAttribute("name", "based4j conformance on " + e.getKey());
                counts(x, e.getValue());
                for (ResultRow r : e.getValue()) {
                    testcase(x, r);
                }
                x.writeCharacters("\n  ");
                x.writeEndElement();
            }
            x.writeCharacters("\n");
            x.writeEndElement();
            x.writeCharacters("\n");
            x.writeEndDocument();
            x.flush();
        } catch (XMLStreamException e) {
            throw new IOException("writing the JUnit XML report failed: " + e.getMessage(), e);
        }
    }

    private static void counts(XMLStreamWriter x, List<ResultRow> rows) throws XMLStreamException {
        x.writeAttribute("tests", String.valueOf(rows.size()));
        x.writeAttribute("failures", String.valueOf(rows.stream().filter(r -> r.verdict() == Verdict.FAIL).count()));
        x.writeAttribute("errors", "0");
        x.writeAttribute("skipped", String.valueOf(rows.stream().filter(r -> r.verdict() == Verdict.SKIP).count()));
    }

    private static void testcase(XMLStreamWriter x, ResultRow r) throws XMLStreamException {
        x.writeCharacters("\n    ");
        x.writeStartElement("testcase");
        x.writeAttribute("classname", "based4j.conformance." + r.backend() + "."
                + (r.family() == null ? "golden" : r.family().label()));
        String name = r.description() + " — " + r.shape() + (r.dtype() == null ? "" : ", " + r.dtype().label())
                + (r.seed() >= 0 ? ", seed " + r.seed() : "") + " [" + r.caseId() + "]";
        x.writeAttribute("name", name);
        x.writeAttribute("time", "0");
        switch (r.verdict()) {
            case FAIL -> {
                x.writeStartElement("failure");
                x.writeAttribute("message", r.message());
                x.writeCharacters(r.message());
                x.writeEndElement();
            }
            case SKIP -> {
                x.writeEmptyElement("skipped");
                x.writeAttribute("message", r.message());
            }
            case PASS -> {
                // nothing but the measured error below
            }
        }
        x.writeStartElement("system-out");
        x.writeCharacters("max relative error " + r.errorText() + ", tolerance " + r.toleranceText());
        x.writeEndElement();
        x.writeEndElement();
    }
}
