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
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line under attack, through {@link Based4j#run} in this JVM (a child JVM only for Ctrl-C).
 *
 * <p>{@link #everyBrokenCommandLineEndsWithTheUsageStatusAndNamesWhatIsWrong}: random invalid command lines, each one
 * valid, cheap command line with one option broken (a value of the wrong type, out of range or too large for memory,
 * an unknown backend or precision, a missing file, a missing value, an unknown option or command). Every one must
 * end with the usage status (2) and one line on the error stream that names the broken option or value; none may
 * throw, print a stack trace, or run past its timeout.
 *
 * <p>{@link Crafted}: one command line per class of hostile input found so far (sizes that would exhaust memory,
 * outputs that cannot be written, malformed golden cases, non-finite weights, time limits), each with the status and
 * the words its one error line must have. {@link CtrlC}: a run interrupted with SIGINT stops at once with status 130.
 *
 * <p>The native budget is fixed at {@value #NATIVE_BUDGET} here ({@code based4j.cli.nativeMemory}), so that what is
 * refused does not depend on the machine's memory; the heap is the surefire JVM's 1 GiB.
 */
class CommandLineFuzzTest {
    private static final long SEED = 0xC11L;
    /** The native budget of these tests. */
    static final String NATIVE_BUDGET = "2g";
    private static final String NATIVE_PROPERTY = "based4j.cli.nativeMemory";
    private static String nativeBefore;

    @org.junit.jupiter.api.BeforeAll
    static void fixTheNativeBudget() {
        nativeBefore = System.getProperty(NATIVE_PROPERTY);
        System.setProperty(NATIVE_PROPERTY, NATIVE_BUDGET);
    }

    @org.junit.jupiter.api.AfterAll
    static void restoreTheNativeBudget() {
        restore(NATIVE_PROPERTY, nativeBefore);
    }

    static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }

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
            new Broken("demo", "--prompt-tokens", List.of("0", "-1", "x", "1048577")),
            new Broken("demo", "--decode-tokens", List.of("-1", "x")),
            new Broken("demo", "--dtype", List.of("bf16", "x")),
            new Broken("demo", "--backend", List.of("no-such-backend")),
            new Broken("recall", "--seq-len", List.of("0", "-5", "x")),
            new Broken("recall", "--vocab", List.of("0", "-1", "x")),
            new Broken("recall", "--pairs", List.of("0", "-1", "x")),
            new Broken("recall", "--lookbacks", List.of("-2", "x")),
            new Broken("recall", "--value-dim", List.of("0", "x", "1000000000")),
            new Broken("recall", "--examples", List.of("0", "-4", "2147483647")),
            new Broken("recall", "--seeds", List.of("0", "x", "2147483647")),
            new Broken("recall", "--batch", List.of("0", "x")),
            new Broken("recall", "--dtype", List.of("x")),
            new Broken("recall", "--backend", List.of("no-such-backend")),
            new Broken("conformance", "--backend", List.of("no-such-backend")),
            new Broken("conformance", "--dtype", List.of("x", "f16")),
            new Broken("conformance", "--time-limit", List.of("0s", "x", "-1s", "400d", "10")),
            new Broken("generate", "--max-context", List.of("0", "-1", "x", "2")),
            new Broken("generate", "--time-limit", List.of("0s", "soon", "PT-1S")),
            new Broken("bench", "--contexts", List.of("0", "-1", "x", "2000000", "1048576")),
            new Broken("bench", "--batches", List.of("0", "5000", "x", "4097")),
            new Broken("bench", "--decode-steps", List.of("0", "x", "2147483647")),
            new Broken("bench", "--repeats", List.of("0", "-1", "x", "101")),
            new Broken("bench", "--models", List.of("gpt", "")),
            new Broken("bench", "--size", List.of("huge")),
            new Broken("bench", "--chart", List.of("chart.svg")),
            new Broken("export-onnx", "--layers", List.of("0", "-1", "x", "100000000", "70000")),
            new Broken("export-onnx", "--d-model", List.of("0", "2000000000", "x", "33")),
            new Broken("export-onnx", "--heads", List.of("0", "3", "x", "64")),
            new Broken("export-onnx", "--vocab", List.of("0", "x", "2000000000")),
            new Broken("export-onnx", "--mode", List.of("train")),
            new Broken("export-onnx", "--dtype", List.of("bf16")));

    private static List<String> valid(String command, Path dir) {
        return switch (command) {
            case "generate" -> List.of("generate", "--tiny-seed", "1", "--prompt-ids", "1,2", "--max-tokens", "2",
                    "--backend", "cpu");
            case "demo" -> List.of("demo", "--prompt-tokens", "4", "--decode-tokens", "2", "--backend", "cpu");
            case "recall" -> List.of("recall", "--seq-len", "16", "--vocab", "32", "--pairs", "2", "--lookbacks", "1",
                    "--examples", "1", "--seeds", "1", "--batch", "1", "--no-progress", "--backend", "cpu", "--out",
                    dir.resolve("recall").toString());
            case "bench" -> List.of("bench", "--backend", "cpu", "--contexts", "16", "--batches", "1", "--decode-steps",
                    "2", "--models", "based", "--no-progress");
            case "export-onnx" -> List.of("export-onnx", "--out", dir.resolve("fuzz.onnx").toString(), "--d-model", "32",
                    "--layers", "2", "--heads", "2", "--vocab", "50");
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

    /** What a run printed and how it ended. */
    record Run(int status, String out, String err, double seconds) {
        /** @return the lines of the error stream that start with {@code based4j:} */
        List<String> errorLines() {
            return err.lines().filter(l -> l.startsWith("based4j:")).toList();
        }
    }

    /** Runs a command line in this JVM with a timeout, with system properties set for the run only. */
    static Run runInProcess(List<String> args, Map<String, String> properties) throws Exception {
        Map<String, String> before = new java.util.HashMap<>();
        properties.forEach((k, v) -> {
            before.put(k, System.getProperty(k));
            System.setProperty(k, v);
        });
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ExecutorService worker = Executors.newSingleThreadExecutor();
        long t0 = System.nanoTime();
        try {
            Future<Integer> f = worker.submit(() -> Based4j.run(new PrintWriter(out, true), new PrintWriter(err, true),
                    args.toArray(String[]::new)));
            int status = f.get(2, TimeUnit.MINUTES);
            return new Run(status, out.toString(), err.toString(), (System.nanoTime() - t0) * 1e-9);
        } finally {
            worker.shutdownNow();
            before.forEach(CommandLineFuzzTest::restore);
        }
    }

    /**
     * One crafted command line and how it must end.
     *
     * @param finding the class of input, as the reliability page counts them
     * @param name what it tries
     * @param args the command line
     * @param properties system properties for the run (e.g. DJL's cache folder)
     * @param status the exit status it must end with
     * @param beforeTheWork whether it must be refused before any work (nothing on standard output)
     * @param fragments words its one error line must contain
     */
    record Case(String finding, String name, List<String> args, Map<String, String> properties, int status,
            boolean beforeTheWork, List<String> fragments) {
        static Case refused(String finding, String name, int status, List<String> args, String... fragments) {
            return new Case(finding, name, args, Map.of(), status, true, List.of(fragments));
        }

        Case after() {
            return new Case(finding, name, args, properties, status, false, fragments);
        }

        Case with(String property, String value) {
            Map<String, String> p = new java.util.HashMap<>(properties);
            p.put(property, value);
            return new Case(finding, name, args, Map.copyOf(p), status, beforeTheWork, fragments);
        }
    }

    /** Every class of hostile input found so far, one crafted command line each (or a few). */
    @org.junit.jupiter.api.Nested
    class Crafted {
        static List<Case> cases(Path dir) throws Exception {
            Path folder = java.nio.file.Files.createDirectories(dir.resolve("a-folder"));
            Path file = java.nio.file.Files.writeString(dir.resolve("a-file"), "x");
            Path nanModel = CraftedFiles.checkpointWithNanIn(dir.resolve("nan-model"), 2);
            Path overflowModel = CraftedFiles.checkpointThatOverflowsIn(dir.resolve("overflow-model"), 2);
            Path textModel = CraftedFiles.checkpointWithTokenizer(dir.resolve("text-model"));
            Path int32Golden = CraftedFiles.goldenCaseWithTensorAsTokenIds(dir.resolve("golden-int32"));
            Path shortGolden = CraftedFiles.goldenCaseWithTruncatedOutput(dir.resolve("golden-short"));
            String out = dir.resolve("model.onnx").toString();
            int usage = Based4j.USAGE;
            List<Case> c = new ArrayList<>();
            // sizes from flags, budgeted before anything is allocated
            c.add(Case.refused("size", "bench context x batch", usage, List.of("bench", "--backend", "cpu",
                    "--contexts", "1048576", "--batches", "4096"), "--contexts 1048576 with --batches 4096",
                    "of native memory", "TiB"));
            c.add(Case.refused("size", "bench attention KV cache", usage, List.of("bench", "--backend", "cpu",
                    "--contexts", "65536", "--batches", "64", "--models", "attention"), "--contexts 65536",
                    "KV cache"));
            c.add(Case.refused("size", "bench decode steps", usage, List.of("bench", "--decode-steps", "2147483647"),
                    "--decode-steps", "2147483647"));
            c.add(Case.refused("size", "recall sequence and vocabulary", usage, List.of("recall", "--seq-len",
                    "1000000", "--vocab", "1000001", "--out", dir.resolve("r1").toString()), "--seq-len 1000000",
                    "--vocab 1000001", "needs"));
            c.add(Case.refused("size", "recall examples", usage, List.of("recall", "--examples", "2147483647", "--out",
                    dir.resolve("r2").toString()), "--examples 2147483647", "of Java heap"));
            c.add(Case.refused("size", "recall seeds", usage, List.of("recall", "--seeds", "2147483647", "--out",
                    dir.resolve("r6").toString()), "--seeds 2147483647", "of Java heap"));
            c.add(Case.refused("size", "recall value dimension", usage, List.of("recall", "--value-dim", "1000000000",
                    "--out", dir.resolve("r3").toString()), "--value-dim 1000000000", "needs"));
            c.add(Case.refused("size", "recall window lookback", usage, List.of("recall", "--lookbacks", "1000000",
                    "--out", dir.resolve("r4").toString()), "--lookbacks 1000000", "largest state"));
            c.add(Case.refused("size", "recall window lookback beyond a ring buffer", usage, List.of("recall",
                    "--lookbacks", "16,16000000", "--out", dir.resolve("r4").toString()), "--lookbacks", "16000000"));
            c.add(Case.refused("size", "export layers", usage, List.of("export-onnx", "--layers", "100000000",
                    "--out", out), "--layers 100000000", "needs"));
            c.add(Case.refused("size", "export width", usage, List.of("export-onnx", "--d-model", "2000000000",
                    "--out", out), "--d-model 2000000000", "more than 8 EiB"));
            c.add(Case.refused("size", "export vocabulary", usage, List.of("export-onnx", "--vocab", "2000000000",
                    "--out", out), "--vocab 2000000000", "needs"));
            c.add(Case.refused("size", "generate max tokens beyond the context limit", usage, List.of("generate",
                    "--tiny-seed", "1", "--prompt-ids", "1", "--max-tokens", "2147483647"), "--max-tokens",
                    "--max-context"));
            c.add(Case.refused("size", "generate context larger than the heap", usage, List.of("generate",
                    "--tiny-seed", "1", "--prompt-ids", "1", "--max-tokens", "2000000000", "--max-context",
                    "2147483647"), "--max-tokens 2000000000", "of Java heap"));
            c.add(Case.refused("size", "demo prompt", usage, List.of("demo", "--prompt-tokens", "1048576"),
                    "--prompt-tokens 1048576", "of native memory"));
            c.add(Case.refused("size", "native budget that is not a size", usage, List.of("demo",
                    "--prompt-tokens", "4"), "based4j.cli.nativeMemory", "lots").with(NATIVE_PROPERTY, "lots"));
            // outputs that cannot be written, refused before the work
            c.add(Case.refused("output", "bench --json a folder", usage, List.of("bench", "--json", folder.toString()),
                    "--json", "is a folder"));
            c.add(Case.refused("output", "bench --chart under a file", usage, List.of("bench", "--chart",
                    file.resolve("chart.png").toString()), "--chart", "is not a folder"));
            c.add(Case.refused("output", "recall --out a file", usage, List.of("recall", "--out", file.toString()),
                    "--out", "exists and is not a folder"));
            c.add(Case.refused("output", "export --out a folder", usage, List.of("export-onnx", "--out",
                    folder.toString()), "--out", "is a folder"));
            c.add(Case.refused("output", "export --out under a file", usage, List.of("export-onnx", "--out",
                    file.resolve("m.onnx").toString()), "--out", "is not a folder"));
            if (java.nio.file.Files.exists(Path.of("/dev/full"))) {
                c.add(Case.refused("output", "bench --csv a full device", usage, List.of("bench", "--csv", "/dev/full"),
                        "--csv", "not a regular file"));
                c.add(Case.refused("output", "export --out a full device", usage, List.of("export-onnx", "--out",
                        "/dev/full"), "--out", "not a regular file"));
            }
            if (System.getenv("DJL_CACHE_DIR") == null && System.getenv("ENGINE_CACHE_DIR") == null
                    && System.getenv("RUST_LIBRARY_PATH") == null) {
                c.add(Case.refused("output", "tokenizer cache folder under a file", usage, List.of("generate", "--model",
                        textModel.toString(), "--prompt", "hello", "--backend", "cpu"), "DJL's cache folder",
                        "DJL_CACHE_DIR").with("DJL_CACHE_DIR", file.resolve("cache").toString()));
            }
            // malformed input is a format error naming it, not a backend failure; non-finite weights are located
            c.add(Case.refused("message", "golden tensor of the wrong type, found while the case runs", usage,
                    List.of("conformance", "--backend", "cpu", "--golden-only", "--no-bundled-golden", "--golden",
                            int32Golden.toString()), "golden case", "int32").after());
            c.add(Case.refused("message", "golden output file too short", usage, List.of("conformance", "--backend",
                    "cpu", "--golden-only", "--no-bundled-golden", "--golden", shortGolden.toString()), "golden case",
                    "bytes"));
            c.add(new Case("message", "checkpoint with a NaN weight in block 2", List.of("generate", "--model",
                    nanModel.toString(), "--prompt-ids", "1,2,3", "--backend", "cpu"), Map.of(),
                    usage, false, List.of("transformer.layers.2.mlp.fc2.weight", "is NaN", "weights must be finite")));
            c.add(new Case("message", "checkpoint whose finite weights overflow in block 2", List.of("generate",
                    "--model", overflowModel.toString(), "--prompt-ids", "1,2,3", "--backend", "cpu"), Map.of(),
                    Based4j.CHECK_FAILED, false, List.of("not finite", "block 2 (sliding window")));
            c.add(Case.refused("message", "time limit that is not a duration", usage, List.of("generate", "--tiny-seed",
                    "1", "--prompt-ids", "1", "--time-limit", "soon"), "--time-limit", "soon"));
            // long runs stop at their time limit with what they finished
            int limit = Based4j.TIME_LIMIT;
            c.add(new Case("stop", "generate past its time limit", List.of("generate", "--tiny-seed", "1",
                    "--prompt-ids", "1", "--max-tokens", "1000000", "--time-limit", "1s", "--backend", "cpu"),
                    Map.of(), limit, false, List.of("stopped at the time limit (--time-limit 1s)", "generated tokens")));
            c.add(new Case("stop", "bench past its time limit", List.of("bench", "--backend", "cpu", "--contexts",
                    "64,128", "--no-progress", "--time-limit", "1s"), Map.of(), limit, false,
                    List.of("stopped at the time limit", "points")));
            c.add(new Case("stop", "recall past its time limit", List.of("recall", "--backend", "cpu", "--no-progress",
                    "--out", dir.resolve("r5").toString(), "--time-limit", "1s"), Map.of(), limit, false,
                    List.of("stopped at the time limit", "evaluations")));
            c.add(new Case("stop", "conformance past its time limit", List.of("conformance", "--backend", "cpu",
                    "--time-limit", "1s"), Map.of(), limit, false, List.of("stopped at the time limit", "cases")));
            return c;
        }

        @TestFactory
        Stream<DynamicTest> everyCraftedCommandLineEndsWithItsStatusAndOneLineNamingTheProblem(@TempDir Path files)
                throws Exception {
            List<Case> all = cases(files);
            Map<String, Long> byFinding = new TreeMap<>(all.stream().collect(
                    java.util.stream.Collectors.groupingBy(Case::finding, java.util.stream.Collectors.counting())));
            System.out.println("[hardening] command line: " + all.size() + " crafted command lines " + byFinding);
            return all.stream().map(k -> DynamicTest.dynamicTest(k.finding() + ": " + k.name(), () -> {
                Run r = runInProcess(k.args(), k.properties());
                String context = String.join(" ", k.args()) + "\nout: " + r.out() + "\nerr: " + r.err();
                assertThat(r.status()).as("exit status of %s", context).isEqualTo(k.status());
                assertThat(r.errorLines()).as("error lines of %s", context).hasSize(1);
                assertThat(r.errorLines().get(0)).as("the error line of %s", context).contains(k.fragments());
                assertThat(r.err()).as("no stack trace: %s", context).doesNotContain("\tat ")
                        .doesNotContain("Exception in");
                if (k.beforeTheWork()) {
                    assertThat(r.out()).as("refused before any work: %s", context).isEmpty();
                }
            }));
        }
    }

    /** Ctrl-C (SIGINT) on a real process: the shutdown hook stops the run at its next step. */
    @org.junit.jupiter.api.Nested
    class CtrlC {
        @Test
        void anInterruptedGenerationKeepsWhatItStreamedAndExitsWith130Promptly(@TempDir Path dir) throws Exception {
            org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(Path.of("/bin/kill")),
                    "/bin/kill sends SIGINT here");
            // a process started in the background by a non-interactive shell ignores SIGINT, and so does every
            // process it starts (an ignored signal stays ignored across exec): the JVM then installs no handler
            org.junit.jupiter.api.Assumptions.assumeFalse(ignoresSigint(),
                    "this process ignores SIGINT (it was started in the background by a non-interactive shell), so"
                            + " the process under test would too; run the build in the foreground to test Ctrl-C");
            Path model = CraftedFiles.checkpointWithTokenizer(dir.resolve("text-model"));
            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(javaBin, "-Xmx256m", "--add-modules", "jdk.incubator.vector",
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    Based4j.class.getName(), "generate", "--model", model.toString(), "--prompt", "hello",
                    "--max-tokens", "1000000", "--backend", "cpu").start();
            StringBuffer out = new StringBuffer();
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try (var in = new java.io.InputStreamReader(p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8)) {
                    char[] buffer = new char[256];
                    for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                        out.append(buffer, 0, n);
                    }
                } catch (java.io.IOException closed) {
                    // the process ended
                }
            });
            java.util.concurrent.CompletableFuture<String> err = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> read(p.getErrorStream()));
            try {
                // text streams as it is generated: once more than the prompt came out, decoding is under way
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                while (out.length() <= "hello".length() + 4 && p.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(p.isAlive()).as("still generating; out so far: %s", out).isTrue();
                assertThat(out.length()).as("tokens streamed before the interrupt").isGreaterThan(9);
                long t0 = System.nanoTime();
                new ProcessBuilder("/bin/kill", "-INT", Long.toString(p.pid())).start().waitFor();
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    // what every thread of the process that did not stop is doing, for the failure message
                    Process dump = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd")
                            .toString(), Long.toString(p.pid()), "Thread.print").redirectErrorStream(true).start();
                    String threads = dump.waitFor(20, TimeUnit.SECONDS) ? read(dump.getInputStream()) : "(no dump)";
                    org.junit.jupiter.api.Assertions.fail("still running 60 s after SIGINT; its threads:\n" + threads);
                }
                double seconds = (System.nanoTime() - t0) * 1e-9;
                reader.join(10_000);
                String e = err.get(10, TimeUnit.SECONDS);
                assertThat(p.exitValue()).as("exit status; err: %s", e).isEqualTo(Based4j.INTERRUPTED);
                assertThat(e).contains("based4j: interrupted (Ctrl-C) after ").doesNotContain("\tat ");
                assertThat(out.toString()).startsWith("hello");
                System.out.printf(java.util.Locale.ROOT, "[hardening] command line: SIGINT to a generation, exited "
                        + "after %.2f s with status %d%n", seconds, p.exitValue());
            } finally {
                p.destroyForcibly();
            }
        }

        /** @return whether this process ignores SIGINT, from the SigIgn mask of /proc/self/status (Linux) */
        private static boolean ignoresSigint() {
            try {
                for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("SigIgn:")) {
                        return (Long.parseUnsignedLong(line.substring("SigIgn:".length()).strip(), 16) & 2L) != 0;
                    }
                }
            } catch (java.io.IOException | NumberFormatException | java.io.UncheckedIOException e) {
                return false;
            }
            return false;
        }

        private static String read(java.io.InputStream in) {
            try {
                return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                return "";
            }
        }
    }
}
