package dev.based4j.benchmarks;

import dev.based4j.Availability;
import dev.based4j.Backends;
import dev.based4j.spi.BackendProvider;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Says whether a backend in {@code benchmarks.jar} can run on this machine, before {@code run-jmh.sh} starts JMH:
 * {@code java -cp benchmarks.jar dev.based4j.benchmarks.BackendCheck NAME} prints the backend's device, or why it
 * cannot run and the fix. Exit status 0 when it is usable, 3 when it is found but unusable here (a CUDA backend
 * without a driver), 2 when no backend has that name (the message lists those that do exist).
 */
public final class BackendCheck {
    /** Exit status of a backend that is found but cannot run here. */
    public static final int UNUSABLE = 3;
    /** Exit status of a name no backend has, or a missing argument. */
    public static final int UNKNOWN = 2;

    private BackendCheck() {}

    /**
     * Checks the backend named by the one argument.
     *
     * @param args the backend's name
     */
    public static void main(String[] args) {
        if (args.length != 1 || args[0].isBlank()) {
            System.err.println("usage: BackendCheck NAME (a backend name, e.g. cpu, opencl, onnx, cuda)");
            System.exit(UNKNOWN);
        }
        String name = args[0];
        Optional<BackendProvider> provider = Backends.provider(name);
        if (provider.isEmpty()) {
            String known = Backends.providers().stream().map(BackendProvider::name).sorted()
                    .collect(Collectors.joining(", "));
            System.err.println("backend '" + name + "' not found in benchmarks.jar; backends: " + known);
            System.exit(UNKNOWN);
        }
        Availability a;
        try {
            a = provider.get().probe();
        } catch (RuntimeException | LinkageError e) {
            System.out.println("backend '" + name + "' cannot run here: its probe failed: " + e);
            System.exit(UNUSABLE);
            return;
        }
        if (!a.usable()) {
            System.out.println("backend '" + name + "' cannot run here: " + a.reason() + " (fix: " + a.fix() + ")");
            System.exit(UNUSABLE);
        }
        System.out.println("backend '" + name + "' on " + a.device());
    }
}
