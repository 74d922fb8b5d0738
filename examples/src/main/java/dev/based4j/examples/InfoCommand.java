package dev.based4j.examples;

import dev.based4j.Availability;
import dev.based4j.Backends;
import dev.based4j.Setting;
import dev.based4j.Settings;
import dev.based4j.spi.BackendProvider;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code based4j info}: every backend found, usable or not, with where it was loaded from, its device and precisions
 * or the reason and fix, its devices and its settings.
 */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "List every backend found (built in or plugin), usable or not, with where it came from, its"
                + " device and precisions or the reason and fix, and its settings.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<Backends.ProviderStatus> all = Backends.list();
        out.printf("based4j on Java %s, %d processors%n%n", Runtime.version(), Runtime.getRuntime().availableProcessors());
        if (all.isEmpty()) {
            out.println("No backend found on the class or module path. Add based4j-backend-cpu.");
        }
        for (Backends.ProviderStatus s : all) {
            BackendProvider p = s.provider();
            Availability a = s.availability();
            out.printf("%-10s priority %-4d %s%n", p.name(), p.priority(),
                    a.usable() ? "usable" : a.misconfigured() ? "MISCONFIGURED" : "NOT USABLE");
            out.printf("    from:       %s%n", s.origin());
            if (a.usable()) {
                out.printf("    device:     %s%n", a.device());
                out.printf("    precisions: %s%n", a.precisions().stream().map(d -> d.label()).sorted()
                        .collect(Collectors.joining(", ")));
            } else {
                out.printf("    reason:     %s%n", a.reason());
                out.printf("    fix:        %s%n", a.fix());
            }
            for (String device : devices(p)) {
                out.printf("    device:     %s%n", device);
            }
            for (Setting st : settings(p)) {
                printSetting(out, st, "    ");
            }
        }
        out.println();
        out.println("Settings of based4j and its command line (system property / environment variable = value):");
        printSetting(out, Settings.BACKEND, "  ");
        printSetting(out, Settings.PLUGINS, "  ");
        printSetting(out, MemoryBudget.NATIVE_MEMORY, "  ");
        return 0;
    }

    private static void printSetting(PrintWriter out, Setting st, String indent) {
        out.printf("%ssetting:    -D%s / %s = %s%n%s            %s%n", indent, st.property(), st.environment(),
                st.configured().orElse("(default) " + st.defaultValue()), indent, st.description());
    }

    private static List<String> devices(BackendProvider p) {
        try {
            return p.devices();
        } catch (RuntimeException | LinkageError e) {
            return List.of("could not be listed (" + e + ")");
        }
    }

    private static List<Setting> settings(BackendProvider p) {
        try {
            return p.settings();
        } catch (RuntimeException | LinkageError e) {
            return List.of();
        }
    }
}
