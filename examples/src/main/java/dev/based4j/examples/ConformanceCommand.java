package dev.based4j.examples;

import dev.based4j.Backends;
import dev.based4j.conformance.CaseResult;
import dev.based4j.conformance.ConformanceCase;
import dev.based4j.conformance.ConformanceRunner;
import dev.based4j.conformance.GoldenFormatException;
import dev.based4j.conformance.JUnitXmlReport;
import dev.based4j.conformance.ResultRow;
import dev.based4j.conformance.Summary;
import dev.based4j.conformance.Verdict;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j conformance}: runs the conformance catalogue, the bundled golden cases and any golden folders on
 * the chosen backends, prints one row per case and ends with {@code N passed, N failed[, N skipped]}. Exit status
 * 0 only when nothing failed.
 */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = "Check backends against the float64 reference and golden vectors; one row per case.")
final class ConformanceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--backend", paramLabel = "NAME|all",
            description = "Backend to check, or 'all' for every usable one (default: the configured backend).")
    String backend;

    @Option(names = "--golden", paramLabel = "DIR", arity = "1..*",
            description = "Extra golden folders in the golden format (a folder of cases, or one case folder).")
    List<Path> golden = new ArrayList<>();

    @Option(names = "--golden-only", description = "Run only golden cases (bundled and --golden), not the catalogue.")
    boolean goldenOnly;

    @Option(names = "--no-bundled-golden", description = "Leave out the golden cases bundled with the suite.")
    boolean noBundledGolden;

    @Option(names = "--dtype", paramLabel = "f32|f64", description = "Only this precision (default: both).")
    String dtype;

    @Option(names = "--failures-only", description = "Print only failed rows (and the summary).")
    boolean failuresOnly;

    @Option(names = "--junit-xml", paramLabel = "FILE",
            description = "Also write the results as a JUnit XML report (for CI systems) to FILE.")
    Path junitXml;

    @Mixin
    TimeLimit timeLimit;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (junitXml != null) {
            OutputFiles.checkFile("--junit-xml", junitXml);
        }
        for (Path p : golden) {
            if (!Files.isDirectory(p)) {
                throw new Based4j.UserError("--golden: folder not found: " + p);
            }
        }
        ConformanceRunner.Builder builder = ConformanceRunner.builder()
                .catalogue(!goldenOnly)
                .bundledGolden(!noBundledGolden)
                .goldenFolders(golden);
        if (dtype != null) {
            builder.precisions(EnumSet.of(Based4j.computeType(dtype)));
        }
        ConformanceRunner runner;
        try {
            runner = builder.build();
        } catch (GoldenFormatException e) {
            throw new Based4j.UserError(e.getMessage());
        }

        List<String> names = new ArrayList<>();
        if (backend != null && backend.equalsIgnoreCase("all")) {
            for (Backends.ProviderStatus s : Backends.list()) {
                if (s.availability().usable()) {
                    names.add(s.name());
                } else {
                    out.printf("backend %s is not usable here, not checked: %s%n", s.name(), s.availability().reason());
                }
            }
            if (names.isEmpty()) {
                throw new Based4j.UserError("--backend all: no usable backend found");
            }
        } else if (backend != null) {
            names.add(backend);
        } else {
            try (Backend b = Backends.select()) {
                names.add(b.name());
            }
        }

        RunControl control = RunControl.current();
        timeLimit.applyTo(control);
        List<ResultRow> all = new ArrayList<>();
        int total = names.size() * runner.cases().size();
        for (String name : names) {
            out.printf("%n== %s: %d cases%n", name, runner.cases().size());
            out.println(header());
            List<ResultRow> rows = new ArrayList<>();
            try (Backend b = Backends.select(name)) {
                for (ConformanceCase c : runner.cases()) {
                    if (control.stopRequested()) {
                        out.printf("%s: %s%n", name, Summary.of(rows).line());
                        all.addAll(rows);
                        out.println();
                        out.println(Summary.of(all).line());
                        out.flush();
                        throw control.stopped("after " + all.size() + " of " + total + " cases (the rows above)");
                    }
                    CaseResult result = c.run(b, () -> Backends.select(name));
                    formatError(result.error()).ifPresent(e -> {
                        // a malformed golden case is the input's fault, not the backend's: no FAIL row
                        throw new Based4j.UserError(e.getMessage());
                    });
                    ResultRow row = ResultRow.of(b.name(), c, result);
                    rows.add(row);
                    if (!failuresOnly || row.verdict() == Verdict.FAIL) {
                        out.println(format(row));
                    }
                }
            } catch (GoldenFormatException e) {
                throw new Based4j.UserError(e.getMessage());
            }
            all.addAll(rows);
            out.printf("%s: %s%n", name, Summary.of(rows).line());
        }
        Summary summary = Summary.of(all);
        out.println();
        out.println(summary.line());
        if (junitXml != null) {
            OutputFiles.write("--junit-xml", junitXml, () -> {
                try {
                    JUnitXmlReport.write(junitXml, all);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            out.println("JUnit XML report: " + junitXml);
        }
        return summary.ok() ? 0 : 1;
    }

    /** @return the golden-format error behind a case's failure, if it is one (directly or as a cause) */
    static java.util.Optional<GoldenFormatException> formatError(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof GoldenFormatException g) {
                return java.util.Optional.of(g);
            }
        }
        return java.util.Optional.empty();
    }

    private static String header() {
        return String.format(Locale.ROOT, "%-7s %-26s %-4s %-9s %-6s  %-38s %s", "verdict", "op", "type", "max rel err",
                "tol", "shape", "case");
    }

    private static String format(ResultRow r) {
        String line = String.format(Locale.ROOT, "%-7s %-26s %-4s %-11s %-6s  %-38s %s", r.verdict(),
                abbreviate(r.op(), 26), r.dtype() == null ? "-" : r.dtype().label(), r.errorText(), r.toleranceText(),
                abbreviate(r.shape(), 38), r.caseId());
        if (r.verdict() != Verdict.PASS) {
            line += System.lineSeparator() + "        " + r.message();
        }
        return line;
    }

    private static String abbreviate(String s, int width) {
        if (s == null) {
            return "-";
        }
        return s.length() <= width ? s : s.substring(0, width - 1) + "…";
    }
}
