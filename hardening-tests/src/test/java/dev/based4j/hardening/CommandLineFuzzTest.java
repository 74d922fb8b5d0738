package dev.based4j.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.conformance.hardening.HardeningScale;
import dev.based4j.examples.Based4j;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random invalid command lines through {@link Based4j#run}: each one valid, cheap command line with one option broken
 * (a value of the wrong type or out of range, an unknown backend or precision, a missing file, a missing value, an
 * unknown option or command). Every one must end with the usage status (2) and one line on the error stream that
 * names the broken option or value; none may throw, print a stack trace, or run past its timeout.
 */
class CommandLineFuzzTest {
    private static final long SEED = 0xC11L;

    /** One option of one command, and values it must refuse. */
    private record Broken(String command, String option, List<String> values) {}

    private static final List<Broken> BROKEN = List.of(
            new Broken("generate", "--max-tokens", List.of("0", "-3", "abc", "1e3", "99999999999")),
            new Broken("generate", "--temperature", List.of("-1", "NaN", "x", "Infinity")),
            new Broken("generate", "--top-k", List.of("-1", "q", "2.5")),
            new Broken("generate", "--top-p", List.of("0", "1.5", "-0.1", "NaN")),
            new Broken("generate", "--prompt-ids", List.of("-1", "99999999", "a", "1,,2", "1;2")),
            new Broken("generate", "--stop-ids", List.of("x", "-7")),
            new Broken("generate", "--backend", List.of("no-such-backend", "CPU!", "")),
            new Broken("generate", "--dtype", List.of("f16", "x", "")),
            new Broken("generate", "--tiny-seed", List.of("x", "1.5")),
            new Broken("generate", "--seed", List.of("x", "0x")),
            new Broken("demo", "--prompt-tokens", List.of("0", "-1", "x")),
            new Broken("demo", "--decode-tokens", List.of("-1", "x")),
            new Broken("demo", "--dtype", List.of("bf16", "x")),
            new Broken("demo", "--backend", List.of("no-such-backend")),
            new Broken("recall", "--seq-len", List.of("0", "-5", "x")),
            new Broken("recall", "--vocab", List.of("0", "-1", "x")),
            new Broken("recall", "--pairs", List.of("0", "-1", "x")),
            new Broken("recall", "--lookbacks", List.of("-2", "x")),
            new Broken("recall", "--value-dim", List.of("0", "x")),
            new Broken("recall", "--examples", List.of("0", "-4")),
            new Broken("recall", "--seeds", List.of("0", "x")),
            new Broken("recall", "--batch", List.of("0", "x")),
            new Broken("recall", "--dtype", List.of("x")),
            new Broken("recall", "--backend", List.of("no-such-backend")),
            new Broken("conformance", "--backend", List.of("no-such-backend")),
            new Broken("conformance", "--dtype", List.of("x", "f16")));

    private static List<String> valid(String command, Path dir) {
        return switch (command) {
            case "generate" -> List.of("generate", "--tiny-seed", "1", "--prompt-ids", "1,2", "--max-tokens", "2",
                    "--backend", "cpu");
            case "demo" -> List.of("demo", "--prompt-tokens", "4", "--decode-tokens", "2", "--backend", "cpu");
            case "recall" -> List.of("recall", "--seq-len", "16", "--vocab", "32", "--pairs", "2", "--lookbacks", "1",
                    "--examples", "1", "--seeds", "1", "--batch", "1", "--no-progress", "--backend", "cpu", "--out",
                    dir.resolve("recall").toString());
            default -> List.of("conformance", "--backend", "cpu", "--golden-only", "--no-bundled-golden");
        };
    }

    @Test
    void everyBrokenCommandLineEndsWithTheUsageStatusAndNamesWhatIsWrong(@TempDir Path dir) throws Exception {
        int calls = HardeningScale.configured() == HardeningScale.FULL ? 10_000 : 300;
        SplittableRandom random = new SplittableRandom(SEED);
        Map<String, Integer> byOption = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        ExecutorService worker = Executors.newSingleThreadExecutor();
        try {
            for (int i = 0; i < calls; i++) {
                List<String> args = new ArrayList<>();
                String named;
                String badValue = null;
                int kind = random.nextInt(20);
                if (kind == 0) {
                    args.add("frobnicate" + random.nextInt(100));
                    named = args.get(0);
                } else if (kind == 1) {
                    Broken b = BROKEN.get(random.nextInt(BROKEN.size()));
                    args.addAll(valid(b.command, dir));
                    args.add("--no-such-option-" + random.nextInt(100));
                    named = args.get(args.size() - 1);
                } else if (kind == 2) {
                    Broken b = BROKEN.get(random.nextInt(BROKEN.size()));
                    args.addAll(valid(b.command, dir));
                    args.add(b.option);
                    named = b.option;
                } else if (kind == 3) {
                    args.addAll(List.of("generate", "--model", dir.resolve("missing-" + random.nextInt(1000)).toString(),
                            "--prompt-ids", "1", "--backend", "cpu"));
                    named = "missing-";
                } else {
                    Broken b = BROKEN.get(random.nextInt(BROKEN.size()));
                    List<String> base = new ArrayList<>(valid(b.command, dir));
                    String value = b.values.get(random.nextInt(b.values.size()));
                    int at = base.indexOf(b.option);
                    if (at >= 0) {
                        base.set(at + 1, value);
                    } else {
                        base.add(b.option);
                        base.add(value);
                    }
                    args.addAll(base);
                    named = b.option;
                    badValue = value;
                }
                byOption.merge((args.get(0) + " " + named).replaceAll("[0-9]+", "N"), 1, Integer::sum);
                StringWriter out = new StringWriter();
                StringWriter err = new StringWriter();
                Future<Integer> f = worker.submit(() -> Based4j.run(new PrintWriter(out, true),
                        new PrintWriter(err, true), args.toArray(String[]::new)));
                int status;
                try {
                    status = f.get(2, TimeUnit.MINUTES);
                } catch (java.util.concurrent.ExecutionException e) {
                    failures.add(args + ": threw " + e.getCause());
                    continue;
                }
                String e = err.toString();
                if (status != Based4j.USAGE) {
                    failures.add(args + ": exit status " + status + ", expected " + Based4j.USAGE + "; err: " + e);
                } else if (!e.contains(named) && !e.contains(named.replace("--", ""))
                        && (badValue == null || badValue.length() < 2 || !e.contains(badValue))) {
                    failures.add(args + ": the error does not name " + named + ": " + e.strip());
                } else if (e.contains("\tat ") || e.contains("Exception in")) {
                    failures.add(args + ": printed a stack trace: " + e);
                }
                if (failures.size() > 20) {
                    break;
                }
            }
        } finally {
            worker.shutdownNow();
        }
        System.out.println("[hardening] command line: " + calls + " invalid command lines over " + byOption.size()
                + " kinds (command and broken option), " + failures.size() + " failures");
        assertThat(failures).as("invalid command lines (seed %d)", SEED).isEmpty();
    }
}
