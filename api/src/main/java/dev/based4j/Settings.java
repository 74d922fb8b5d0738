package dev.based4j;

/**
 * The settings of based4j itself; each backend declares its own through
 * {@link dev.based4j.spi.BackendProvider#settings()} ({@link Backends#list()} shows them per backend).
 */
public final class Settings {
    private Settings() {}

    /** Backend to use when none is named in code. */
    public static final Setting BACKEND = new Setting("based4j.backend", "BASED4J_BACKEND", "",
            "Backend to use when the code names none (cpu, opencl, cuda, onnx, or a plugin's name); empty = the"
                    + " usable backend of highest priority.");

    /** Folders or jars of backend plugins the command line loads. */
    public static final Setting PLUGINS = new Setting("based4j.plugins", "BASED4J_PLUGINS", "",
            "Backend plugins the based4j command line loads: jars, or folders whose jars it loads, separated by the"
                    + " path separator (':' on Linux and macOS, ';' on Windows).");
}
