package dev.based4j.examples;

import dev.based4j.Setting;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place where the command line turns sizes from flags into bytes and decides, before anything is allocated,
 * whether they fit. Every command lists what a run will hold at its peak ({@link Need}s: weights, states,
 * activations, logits, token lists, data sets) and calls {@link #check}; a run that does not fit is refused with a
 * {@link Based4j.UserError} naming the option, its value, the bytes and the limit.
 *
 * <p>Products and sums never overflow: {@link #times} and {@link #plus} saturate at {@link Long#MAX_VALUE}, printed
 * as "more than 8 EiB", so {@code --contexts 1048576 --batches 4096} or {@code --d-model 2000000000} are refused
 * with a size instead of wrapping round to a small or negative one.
 *
 * <p>Two limits, one per kind of memory:
 * <ul>
 *   <li><b>Java heap</b>: {@link Runtime#maxMemory()} ({@code -Xmx}), for the arrays and lists a command builds on
 *       the heap (token ids, MQAR data sets, embeddings of the recall experiment, an ONNX graph);</li>
 *   <li><b>native memory</b>: backend and host tensors live off the heap (the foreign-memory API), bounded neither
 *       by {@code -Xmx} nor by {@code -XX:MaxDirectMemorySize}. The budget is the setting
 *       {@value #NATIVE_PROPERTY} ({@value #NATIVE_ENVIRONMENT}; a size such as {@code 8g}, {@code 512m} or bytes),
 *       else the machine's physical memory (the container's limit where there is one) less the heap's maximum. A
 *       GPU backend holds its tensors in device memory, which it checks itself; the native budget still bounds
 *       the host copies every upload and download makes.</li>
 * </ul>
 * The figures are estimates of the peak, rounded up where a backend's scratch memory is not known; the point is to
 * refuse what cannot fit, not to predict the last byte.
 */
final class MemoryBudget {
    /** System property of the native budget. */
    static final String NATIVE_PROPERTY = "based4j.cli.nativeMemory";
    /** Environment variable of the native budget. */
    static final String NATIVE_ENVIRONMENT = "BASED4J_CLI_NATIVE_MEMORY";
    /** The native budget as a setting of this module. */
    static final Setting NATIVE_MEMORY = new Setting(NATIVE_PROPERTY, NATIVE_ENVIRONMENT, "",
            "Native (off-heap) memory the command line lets one run plan for, e.g. 8g; empty = physical memory less "
                    + "the Java heap's maximum.");

    /** Where a need is allocated. */
    enum Pool {
        /** The Java heap ({@code -Xmx}). */
        HEAP("Java heap"),
        /** Off-heap memory of host and backend tensors. */
        NATIVE("native memory");

        private final String words;

        Pool(String words) {
            this.words = words;
        }
    }

    /**
     * One thing a run holds at its peak.
     *
     * @param what what it is, with its shape, e.g. {@code hidden states [8, 32768, 64] f32}
     * @param pool where it lives
     * @param bytes its size, {@link Long#MAX_VALUE} when it does not fit a long
     */
    record Need(String what, Pool pool, long bytes) {
        /** Requires a description and a non-negative size. */
        Need {
            Objects.requireNonNull(what, "what");
            Objects.requireNonNull(pool, "pool");
            if (bytes < 0) {
                throw new IllegalArgumentException("bytes: expected >= 0, got " + bytes);
            }
        }

        /** @return a need on the Java heap */
        static Need heap(String what, long bytes) {
            return new Need(what, Pool.HEAP, bytes);
        }

        /** @return a need in native memory */
        static Need offHeap(String what, long bytes) {
            return new Need(what, Pool.NATIVE, bytes);
        }
    }

    private final long heapLimit;
    private final long nativeLimit;
    private final String nativeSource;

    /**
     * @param heapLimit bytes of Java heap a run may use
     * @param nativeLimit bytes of native memory a run may use
     * @param nativeSource where the native limit comes from, for messages
     */
    MemoryBudget(long heapLimit, long nativeLimit, String nativeSource) {
        if (heapLimit < 1 || nativeLimit < 1) {
            throw new IllegalArgumentException("limits: expected positive byte counts, got heap " + heapLimit
                    + ", native " + nativeLimit);
        }
        this.heapLimit = heapLimit;
        this.nativeLimit = nativeLimit;
        this.nativeSource = Objects.requireNonNull(nativeSource, "nativeSource");
    }

    /**
     * The budget of this JVM: {@link Runtime#maxMemory()} and the native budget described in the class comment.
     *
     * @throws IllegalArgumentException naming the setting when it is not a size
     */
    static MemoryBudget current() {
        long heap = Runtime.getRuntime().maxMemory();
        var configured = NATIVE_MEMORY.configured();
        if (configured.isPresent()) {
            long bytes = parseSize(configured.get());
            return new MemoryBudget(heap, bytes, "set by " + NATIVE_PROPERTY + " (" + NATIVE_ENVIRONMENT + ")");
        }
        long physical = physicalMemory();
        long rest = physical - heap;
        // a heap as large as the machine leaves the native side nothing by this rule; half the machine is then
        // the most a run can hope for
        long limit = rest >= physical / 4 ? rest : physical / 2;
        return new MemoryBudget(heap, Math.max(1, limit), "physical memory " + format(physical)
                + " less the Java heap's maximum " + format(heap) + "; " + NATIVE_PROPERTY + " changes it");
    }

    private static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long total = os.getTotalMemorySize();
            if (total > 0) {
                return total;
            }
        }
        // no figure from the platform: assume no more than the heap may hold
        return 2 * Runtime.getRuntime().maxMemory();
    }

    private static final Pattern SIZE = Pattern.compile("(\\d{1,19})\\s*([kmgt]i?b?|b)?", Pattern.CASE_INSENSITIVE);

    /**
     * Parses a size: bytes, or a number with {@code k}, {@code m}, {@code g} or {@code t} (powers of 1024).
     *
     * @throws IllegalArgumentException naming the setting when the text is not a positive size
     */
    static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (m.matches()) {
            try {
                long n = Long.parseLong(m.group(1));
                String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
                int shift = switch (unit.charAt(0)) {
                    case 'k' -> 10;
                    case 'm' -> 20;
                    case 'g' -> 30;
                    case 't' -> 40;
                    default -> 0;
                };
                long bytes = times(n, 1L << shift);
                if (bytes > 0 && bytes < Long.MAX_VALUE) {
                    return bytes;
                }
            } catch (NumberFormatException tooLong) {
                // falls through to the message below
            }
        }
        throw new IllegalArgumentException(NATIVE_PROPERTY + " (" + NATIVE_ENVIRONMENT + "): expected a size such as "
                + "8g, 512m or a number of bytes, got '" + text + "'");
    }

    /** @return bytes of Java heap a run may use */
    long heapLimit() {
        return heapLimit;
    }

    /** @return bytes of native memory a run may use */
    long nativeLimit() {
        return nativeLimit;
    }

    /**
     * @return the product of non-negative factors, {@link Long#MAX_VALUE} when it does not fit a long
     * @throws IllegalArgumentException for a negative factor
     */
    static long times(long... factors) {
        long product = 1;
        for (long f : factors) {
            if (f < 0) {
                throw new IllegalArgumentException("factors: expected values >= 0, got " + f);
            }
            if (f == 0) {
                return 0;
            }
        }
        for (long f : factors) {
            if (product > Long.MAX_VALUE / f) {
                return Long.MAX_VALUE;
            }
            product *= f;
        }
        return product;
    }

    /**
     * @return the sum of non-negative terms, {@link Long#MAX_VALUE} when it does not fit a long
     * @throws IllegalArgumentException for a negative term
     */
    static long plus(long... terms) {
        long sum = 0;
        for (long t : terms) {
            if (t < 0) {
                throw new IllegalArgumentException("terms: expected values >= 0, got " + t);
            }
            sum = sum > Long.MAX_VALUE - t ? Long.MAX_VALUE : sum + t;
        }
        return sum;
    }

    /**
     * Refuses a run whose needs exceed a limit, before anything is allocated.
     *
     * @param setting what the user set, as typed: the option and its value, e.g. {@code --contexts 1048576 with
     *     --batches 4096}
     * @param needs what the run holds at its peak
     * @throws Based4j.UserError naming {@code setting}, the bytes it needs, its largest parts and the limit
     */
    void check(String setting, List<Need> needs) {
        for (Pool pool : Pool.values()) {
            long total = 0;
            List<Need> parts = new ArrayList<>();
            for (Need n : needs) {
                if (n.pool() == pool) {
                    total = plus(total, n.bytes());
                    parts.add(n);
                }
            }
            long limit = pool == Pool.HEAP ? heapLimit : nativeLimit;
            if (total > limit) {
                parts.sort(Comparator.comparingLong(Need::bytes).reversed());
                StringBuilder detail = new StringBuilder();
                for (int i = 0; i < Math.min(3, parts.size()); i++) {
                    detail.append(i == 0 ? "" : ", ").append(parts.get(i).what()).append(' ')
                            .append(format(parts.get(i).bytes()));
                }
                if (parts.size() > 3) {
                    detail.append(", ...");
                }
                String source = pool == Pool.HEAP ? "the Java heap's maximum (-Xmx)" : "the native budget ("
                        + nativeSource + ")";
                throw new Based4j.UserError(setting + ": needs " + format(total) + " of " + pool.words + " ("
                        + detail + ") but " + source + " is " + format(limit) + "; choose smaller values");
            }
        }
    }

    /** @return {@code bytes} in binary units, e.g. {@code 1.5 GiB}; "more than 8 EiB" for a saturated size */
    static String format(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "more than 8 EiB";
        }
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
