package dev.based4j.examples;

import dev.based4j.Plugins;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.onnx.export.ExportOnnxCommand;
import dev.based4j.model.NonFiniteOutputException;
import dev.based4j.tensor.DType;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code based4j} command line.
 *
 * <p>Exit status: {@value #OK} on success; {@value #CHECK_FAILED} when a check failed (a conformance case, the
 * demo's exactness check, a model whose output is not finite); {@value #USAGE} for a usage error or a problem with
 * the input (an option out of range or too large for memory, an unknown backend, a missing or malformed file, a path
 * that cannot be written), printed as one line naming the option or file; {@value #INTERNAL} for an internal error,
 * printed as one line with the file that holds the full report ({@link ErrorReport}); {@value #TIME_LIMIT} when
 * {@code --time-limit} stopped the run; {@value #INTERRUPTED} when Ctrl-C stopped it.
 */
@Command(name = "based4j", mixinStandardHelpOptions = true, versionProvider = Based4j.Version.class,
        description = "Run BASED linear-attention models and their kernels on interchangeable backends.",
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:success", "1:a check failed (conformance, the demo's check, a model's output not finite)",
                "2:usage error or bad input (one line naming the option or file)",
                "3:internal error (one line naming the file with the full report)",
                "124:stopped by --time-limit", "130:interrupted (Ctrl-C)"},
        subcommands = {InfoCommand.class, DemoCommand.class, GenerateCommand.class, ConformanceCommand.class,
                RecallCommand.class, BenchCommand.class, ServeCommand.class, LoadtestCommand.class, ConvertCommand.class,
                CommandLine.HelpCommand.class})
public final class Based4j {
    /** Exit status of a successful run. */
    public static final int OK = 0;
    /** Exit status when a check failed. */
    public static final int CHECK_FAILED = 1;
    /** Exit status of a usage error or bad input. */
    public static final int USAGE = 2;
    /** Exit status of an internal error. */
    public static final int INTERNAL = 3;
    /** Exit status of a run stopped by {@code --time-limit}. */
    public static final int TIME_LIMIT = 124;
    /** Exit status of a run stopped by Ctrl-C (128 + SIGINT). */
    public static final int INTERRUPTED = 130;
    /** How long the shutdown hook waits, after Ctrl-C, for the run to stop at its next step. */
    static final java.time.Duration SHUTDOWN_GRACE = java.time.Duration.ofSeconds(5);

    /** Backend plugins to load, on top of {@code BASED4J_PLUGINS}; accepted before or after the subcommand. */
    @Option(names = "--plugins", paramLabel = "PATH", scope = ScopeType.INHERIT,
            description = "Backend plugins to load: jars, or folders whose jars are loaded, separated by '${sys:path.separator}'"
                    + " (added to the BASED4J_PLUGINS environment variable / based4j.plugins property).")
    List<String> plugins = new ArrayList<>();

    /** Runs the command line and exits with its status; Ctrl-C stops the run at its next step. */
    public static void main(String[] args) {
        // third-party libraries logging through SLF4J: warnings and errors only, unless the user asks for more
        defaultProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // DJL reports a CUDA it cannot use on every tokenizer load, and a native library it cannot unpack with a
        // stack trace; the command line checks the tokenizer's cache folder itself and says what to do
        defaultProperty("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error");
        defaultProperty("org.slf4j.simpleLogger.log.ai.djl.huggingface.tokenizers.jni.LibUtils", "off");
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (finished.getCount() == 0) {
                return;
            }
            RunControl.interruptAll();
            try {
                if (!finished.await(SHUTDOWN_GRACE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    err.println("based4j: interrupted (Ctrl-C); the step in progress did not end within "
                            + SHUTDOWN_GRACE.toSeconds() + " s, exiting without waiting for it");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            out.flush();
            err.flush();
        }, "based4j-shutdown"));
        int status = run(out, err, args);
        finished.countDown();
        System.exit(status);
    }

    private static void defaultProperty(String name, String value) {
        if (System.getProperty(name) == null) {
            System.setProperty(name, value);
        }
    }

    /**
     * Runs the command line with the given streams and returns the exit status (for tests and embedding). Nothing
     * is thrown: every failure is one line on {@code err} and a status (see the class comment).
     */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Based4j());
        cli.addSubcommand("export-onnx", new ExportOnnxCommand(Based4j::loadForExport, Based4j::checkExport));
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, line, parsed) -> report(ex, line, args));
        cli.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("based4j: " + oneLine(ex.getMessage()));
            return USAGE;
        });
        cli.setExecutionStrategy(parsed -> {
            loadPlugins(parsed, err);
            return new CommandLine.RunLast().execute(parsed);
        });
        try (RunControl control = RunControl.open()) {
            return cli.execute(args);
        } catch (Throwable t) {
            // an Error (out of memory, a linkage error) passes picocli's handler, which takes Exceptions only
            return report(t, cli, args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** Prints one line for {@code ex} on the command's error stream and returns the exit status. */
    static int report(Throwable ex, CommandLine line, String[] args) {
        PrintWriter err = line.getErr();
        Throwable e = ex instanceof picocli.CommandLine.ExecutionException && ex.getCause() != null ? ex.getCause() : ex;
        switch (e) {
            case RunControl.Stopped s -> {
                err.println("based4j: " + s.getMessage());
                return s.reason().status();
            }
            case NonFiniteOutputException n -> {
                err.println("based4j: " + oneLine(n.getMessage()));
                return CHECK_FAILED;
            }
            case NumberFormatException n -> {
                // a number the code read without checking it first: the value is the user's, the place a bug
                Path file = ErrorReport.write(ErrorReport.folder(), n, args);
                err.println("based4j: a value is not a number: " + oneLine(n.getMessage()) + " (read by "
                        + origin(n) + (file == null ? "" : "; full report in " + file) + ")");
                return USAGE;
            }
            case UserError u -> {
                err.println("based4j: " + oneLine(withOption(line, u.getMessage())));
                return USAGE;
            }
            case IllegalArgumentException u -> {
                err.println("based4j: " + oneLine(withOption(line, u.getMessage())));
                return USAGE;
            }
            case dev.based4j.conformance.GoldenFormatException g -> {
                err.println("based4j: " + oneLine(g.getMessage()));
                return USAGE;
            }
            case dev.based4j.BackendUnavailableException b -> {
                err.println("based4j: " + oneLine(b.getMessage()));
                return USAGE;
            }
            case java.io.UncheckedIOException io -> {
                err.println("based4j: " + oneLine(withOption(line, io.getMessage())));
                return USAGE;
            }
            case OutOfMemoryError oom -> {
                Path file = ErrorReport.write(ErrorReport.folder(), oom, args);
                err.println("based4j: out of memory (" + oneLine(oom.getMessage()) + "); the Java heap may grow to "
                        + MemoryBudget.format(Runtime.getRuntime().maxMemory()) + " (-Xmx), native memory is the "
                        + "machine's; choose smaller sizes or give the JVM more (BASED4J_JAVA_OPTS=-Xmx...)"
                        + (file == null ? "" : "; full report in " + file));
                return INTERNAL;
            }
            default -> {
                Path file = ErrorReport.write(ErrorReport.folder(), e, args);
                if (file == null) {
                    e.printStackTrace(err);
                }
                err.println("based4j: internal error: " + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : ": " + oneLine(e.getMessage()))
                        + (file == null ? " (the report could not be written to " + ErrorReport.folder()
                                + "; trace above)" : "; full report in " + file + " (please include it in a bug report)"));
                return INTERNAL;
            }
        }
    }

    /** @return the class and method that threw, outside the JDK */
    private static String origin(Throwable t) {
        for (StackTraceElement f : t.getStackTrace()) {
            if (!f.getClassName().startsWith("java.") && !f.getClassName().startsWith("jdk.")) {
                return f.getClassName() + "." + f.getMethodName();
            }
        }
        return "the JDK";
    }

    /** @return the text on one line: line breaks and the indentation after them become one space */
    static String oneLine(String text) {
        return text == null ? "failed without a message" : text.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    /** Checks that an export of a seeded stack fits in this JVM ({@link MemoryBudget}), before it is built. */
    private static void checkExport(String setting, long heapBytes, long nativeBytes, String detail) {
        MemoryBudget.current().check(setting, java.util.List.of(
                MemoryBudget.Need.heap("ONNX graph and inline weights (" + detail + ")", heapBytes),
                MemoryBudget.Need.offHeap("seeded weights (" + detail + ")", nativeBytes)));
    }

    /**
     * Loads the plugins of {@code BASED4J_PLUGINS} and of every {@code --plugins} given, before the command runs, so
     * that their backends are found like built-in ones. A jar that cannot be loaded is reported on {@code err}
     * with its reason; the others still load.
     */
    private static void loadPlugins(CommandLine.ParseResult parsed, PrintWriter err) {
        List<Path> paths = new ArrayList<>(Plugins.configured());
        for (CommandLine.ParseResult r = parsed; r != null; r = r.subcommand()) {
            if (r.hasMatchedOption("--plugins")) {
                for (String p : r.matchedOption("--plugins").<List<String>>getValue()) {
                    paths.addAll(Plugins.split(p));
                }
            }
        }
        if (paths.isEmpty()) {
            return;
        }
        Plugins.Report report = Plugins.load(paths);
        for (Plugins.Failure f : report.failures()) {
            err.println("based4j: plugin " + f.jar() + " not loaded: " + f.reason());
        }
    }

    /** Opens a checkpoint folder for {@code export-onnx}; the checkpoint stays open until the export is written. */
    private static ExportOnnxCommand.Loaded loadForExport(java.nio.file.Path dir) {
        Checkpoint checkpoint = Checkpoint.open(dir);
        return new ExportOnnxCommand.Loaded(BasedModel.stackConfig(checkpoint.config()),
                checkpoint.weights(DType.F32), checkpoint);
    }

    /**
     * Names the command-line option behind a refusal from the library: its messages start with the parameter's name
     * in the code ({@code topP: expected a value in (0, 1]}), which the user typed as {@code --top-p}. The option
     * is the one whose field name ends the parameter's name, ignoring case ({@code pairs} for {@code numKvPairs}), or is
     * its plural ({@code lookbacks} for {@code lookback}).
     */
    static String withOption(CommandLine line, String message) {
        if (message == null) {
            return "failed without a message";
        }
        int colon = message.indexOf(':');
        if (colon <= 0 || !message.substring(0, colon).matches("[A-Za-z][A-Za-z0-9]*")) {
            return message;
        }
        String parameter = message.substring(0, colon).toLowerCase(java.util.Locale.ROOT);
        for (CommandLine.Model.OptionSpec o : line.getCommandSpec().options()) {
            String field = o.userObject() instanceof java.lang.reflect.Field f ? f.getName() : null;
            String name = field == null ? null : field.toLowerCase(java.util.Locale.ROOT);
            // numKvPairs for --pairs; lookback for --lookbacks (one value of a list)
            if (name != null && (parameter.endsWith(name) || name.equals(parameter + "s"))) {
                return "option " + o.longestName() + ": " + message;
            }
        }
        return message;
    }

    /**
     * The value of a {@code --dtype} option: a type the kernels compute in (f32 or f64). bf16, f16 and int8 are ways
     * to store weights, asked for with {@code --weights}.
     *
     * @throws UserError naming the option and the value otherwise
     */
    static DType computeType(String value) {
        DType t;
        try {
            t = DType.parse(value);
        } catch (IllegalArgumentException e) {
            throw new UserError("--dtype: expected f32 or f64, got '" + value + "'");
        }
        if (!t.isCompute()) {
            throw new UserError("--dtype: expected f32 or f64, got " + t.label() + " (" + t.label()
                    + " is a weight format: --weights " + (t == DType.I8 ? "int8" : t.label()) + " stores the matrices"
                    + " in it where the command takes --weights)");
        }
        return t;
    }

    /** A problem with what the user asked for; printed as one line, exit status 2. */
    static final class UserError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UserError(String message) {
            super(message);
        }
    }

    /** Version from the jar manifest, else "development". */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Based4j.class.getPackage().getImplementationVersion();
            return new String[] {"based4j " + (v == null ? "development" : v) + " on Java " + Runtime.version()};
        }
    }
}
