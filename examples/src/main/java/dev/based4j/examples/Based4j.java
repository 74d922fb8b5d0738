package dev.based4j.examples;

import dev.based4j.Plugins;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.onnx.export.ExportOnnxCommand;
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
 * The {@code based4j} command line. Exit status: 0 on success, 1 when a check failed, 2 for a usage error or a
 * problem with the input (unknown backend, missing folder, malformed file), printed as one line.
 */
@Command(name = "based4j", mixinStandardHelpOptions = true, versionProvider = Based4j.Version.class,
        description = "Run BASED linear-attention models and their kernels on interchangeable backends.",
        subcommands = {InfoCommand.class, DemoCommand.class, GenerateCommand.class, ConformanceCommand.class,
                RecallCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Based4j {
    /** Exit status of a usage error or bad input. */
    public static final int USAGE = 2;

    /** Backend plugins to load, on top of {@code BASED4J_PLUGINS}; accepted before or after the subcommand. */
    @Option(names = "--plugins", paramLabel = "PATH", scope = ScopeType.INHERIT,
            description = "Backend plugins to load: jars, or folders whose jars are loaded, separated by '${sys:path.separator}'"
                    + " (added to the BASED4J_PLUGINS environment variable / based4j.plugins property).")
    List<String> plugins = new ArrayList<>();

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        // third-party libraries logging through SLF4J: warnings and errors only, unless the user asks for more
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command line with the given streams and returns the exit status (for tests and embedding). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Based4j());
        cli.addSubcommand("export-onnx", new ExportOnnxCommand(Based4j::loadForExport));
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (ex instanceof UserError || ex instanceof IllegalArgumentException
                    || ex instanceof dev.based4j.conformance.GoldenFormatException
                    || ex instanceof dev.based4j.BackendUnavailableException) {
                line.getErr().println("based4j: " + withOption(line, ex.getMessage()));
                return USAGE;
            }
            throw ex;
        });
        cli.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("based4j: " + ex.getMessage());
            return USAGE;
        });
        cli.setExecutionStrategy(parsed -> {
            loadPlugins(parsed, err);
            return new CommandLine.RunLast().execute(parsed);
        });
        return cli.execute(args);
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
     * is the one whose field name ends the parameter's name, ignoring case ({@code pairs} for {@code numKvPairs}).
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
            if (field != null && parameter.endsWith(field.toLowerCase(java.util.Locale.ROOT))) {
                return "option " + o.longestName() + ": " + message;
            }
        }
        return message;
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
