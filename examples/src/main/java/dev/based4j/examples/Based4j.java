package dev.based4j.examples;

import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.onnx.export.ExportOnnxCommand;
import dev.based4j.tensor.DType;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code based4j} command line. Exit status: 0 on success, 1 when a check failed, 2 for a usage error or a
 * problem with the input (unknown backend, missing folder, malformed file), printed as one line.
 */
@Command(name = "based4j", mixinStandardHelpOptions = true, versionProvider = Based4j.Version.class,
        description = "Run BASED linear-attention models and their kernels on interchangeable backends.",
        subcommands = {InfoCommand.class, DemoCommand.class, GenerateCommand.class, ConformanceCommand.class,
                RecallCommand.class, BenchCommand.class, ServeCommand.class, LoadtestCommand.class,
                CommandLine.HelpCommand.class})
public final class Based4j {
    /** Exit status of a usage error or bad input. */
    public static final int USAGE = 2;

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
        return cli.execute(args);
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
