package dev.based4j.examples;

import dev.based4j.Backends;
import dev.based4j.Settings;
import dev.based4j.Availability;
import dev.based4j.spi.BackendProvider;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code based4j info}: every backend found, usable or not, with reason, device and precision. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "List every backend found, usable or not, with its device and precisions or the reason and fix.")
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
            out.printf("%-10s priority %-4d %s%n", p.name(), p.priority(), a.usable() ? "usable" : "NOT USABLE");
            if (a.usable()) {
                out.printf("    device:     %s%n", a.device());
                out.printf("    precisions: %s%n", a.precisions().stream().map(d -> d.label()).sorted()
                        .collect(Collectors.joining(", ")));
            } else {
                out.printf("    reason:     %s%n", a.reason());
                out.printf("    fix:        %s%n", a.fix());
            }
            for (String line : DeviceListings.describe(p)) {
                out.printf("    %s%n", line);
            }
        }
        out.println();
        out.println("Settings (system property / environment variable = value):");
        for (Settings.Setting st : Settings.all()) {
            out.printf("  -D%s / %s = %s%n      %s%n", st.property(), st.environment(),
                    st.configured().orElse("(default) " + st.defaultValue()), st.description());
        }
        return 0;
    }
}
