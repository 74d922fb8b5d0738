package dev.based4j.examples;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;

/**
 * Writes the full report of an internal error (a bug or an environment failure that is not the user's input) to a
 * file, so that the terminal shows one short line and the trace stays available: {@code based4j-error-*.txt} in
 * the system's temporary folder ({@code java.io.tmpdir}), readable by its owner only. The file holds the command
 * line, the Java and OS versions and the stack trace with its causes.
 */
final class ErrorReport {
    private ErrorReport() {}

    /**
     * @param folder where to write (the system temporary folder in production)
     * @return the file written, or null when it could not be written (the caller then prints the trace itself)
     */
    static Path write(Path folder, Throwable error, String... args) {
        StringWriter text = new StringWriter();
        try (PrintWriter w = new PrintWriter(text)) {
            w.println("based4j internal error at " + Instant.now());
            w.println("command line: based4j " + String.join(" ", Arrays.asList(args)));
            w.println("java: " + Runtime.version() + " (" + System.getProperty("java.vm.name") + "), os: "
                    + System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                    + System.getProperty("os.arch"));
            w.println();
            error.printStackTrace(w);
        }
        try {
            Files.createDirectories(folder);
            // createTempFile: a fresh name and, on POSIX file systems, permissions for the owner only
            Path file = Files.createTempFile(folder, "based4j-error-", ".txt");
            Files.writeString(file, text.toString(), StandardCharsets.UTF_8);
            return file;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** @return the folder internal-error reports go to: {@code java.io.tmpdir} */
    static Path folder() {
        return Path.of(System.getProperty("java.io.tmpdir"));
    }
}
