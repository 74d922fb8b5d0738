package dev.based4j.model;

import dev.based4j.Setting;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * How much memory the model layer lets a file make it allocate, checked before anything is allocated.
 *
 * <ul>
 *   <li><b>Heap</b> ({@link #heapBytes()}): what the Java heap can still give, {@code Runtime.maxMemory()} minus
 *       what is in use. Text files (configs, vocabularies, {@code tokenizer.json}) are read onto the heap.</li>
 *   <li><b>Host memory</b> ({@link #hostBytes()}): native memory outside the heap. Weights are read from the
 *       checkpoint into host memory the process owns, and the CPU backend (and ONNX Runtime's and PoCL's CPU
 *       devices) keep weights, states and activations there. The budget is the setting {@link #HOST_MEMORY} when
 *       set, else the physical memory the operating system reports for this process (a container's limit inside
 *       one) minus the heap's maximum. For a GPU backend, whose tensors live on the device, this is conservative:
 *       raise the setting when a model fits the device but not the host.</li>
 * </ul>
 *
 * Budgets are checks, not reservations: two models loaded at the same time are each checked against the whole
 * budget.
 */
public final class MemoryBudget {
    /** The host-memory budget in bytes; suffixes k, m, g, t (powers of 1024) are accepted. */
    public static final Setting HOST_MEMORY = new Setting("based4j.model.hostMemory", "BASED4J_MODEL_HOST_MEMORY", "",
            "Host (native) memory a model, its state and activations may take, in bytes (suffix k, m, g or t);"
                    + " empty = physical memory minus the JVM's maximum heap.");

    private MemoryBudget() {}

    /** @return bytes the Java heap can still give: its maximum minus what is in use now */
    public static long heapBytes() {
        Runtime rt = Runtime.getRuntime();
        return Math.max(0, rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()));
    }

    /**
     * @return the host-memory budget in bytes
     * @throws IllegalArgumentException naming the setting when it is set to something that is not a size
     */
    public static long hostBytes() {
        var configured = HOST_MEMORY.configured();
        if (configured.isPresent()) {
            return parseSize(configured.get());
        }
        return Math.max(0, physicalBytes() - Runtime.getRuntime().maxMemory());
    }

    /** @return a description of where {@link #hostBytes()} comes from, for messages */
    static String hostSource() {
        return HOST_MEMORY.configured().isPresent() ? "the setting " + HOST_MEMORY.property()
                : "physical memory minus the maximum heap; set " + HOST_MEMORY.property() + " to change it";
    }

    /** @return the heap budget's description, for messages */
    static String heapSource() {
        return "what the Java heap can still give (-Xmx " + Runtime.getRuntime().maxMemory() + " bytes)";
    }

    private static long physicalBytes() {
        return Physical.BYTES;
    }

    /** The physical memory, read once (it does not change while the JVM runs, and reading it is a system call). */
    private static final class Physical {
        static final long BYTES = read();

        private static long read() {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                long total = os.getTotalMemorySize();
                if (total > 0) {
                    return total;
                }
            }
            // no figure from the platform: the heap's maximum twice over is what the JVM was sized for
            return 2 * Runtime.getRuntime().maxMemory();
        }
    }

    /** Parses {@code 123}, {@code 64m}, {@code 2g}, ... into bytes. */
    static long parseSize(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        long unit = 1;
        if (!t.isEmpty()) {
            int shift = switch (t.charAt(t.length() - 1)) {
                case 'k' -> 10;
                case 'm' -> 20;
                case 'g' -> 30;
                case 't' -> 40;
                default -> 0;
            };
            if (shift > 0) {
                unit = 1L << shift;
                t = t.substring(0, t.length() - 1);
            }
        }
        try {
            long v = Long.parseLong(t);
            if (v < 0) {
                throw new NumberFormatException("negative");
            }
            return Math.multiplyExact(v, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(HOST_MEMORY.property() + " (" + HOST_MEMORY.environment()
                    + "): expected a size in bytes such as 8589934592 or 8g, got '" + text + "'", e);
        }
    }
}
