package dev.based4j.cpu;

import dev.based4j.Setting;
import java.util.List;

/** The settings of the CPU backend, listed by {@code based4j info} under {@code cpu}. */
public final class CpuSettings {
    private CpuSettings() {}

    /** Worker threads. */
    public static final Setting THREADS = new Setting("based4j.cpu.threads", "BASED4J_CPU_THREADS", "0",
            "Worker threads of the CPU backend, the calling thread included; 0 = one per available processor;"
                    + " at most four per available processor.");

    /** Forces the plain-Java float32 kernels. */
    public static final Setting NO_VECTOR = new Setting("based4j.cpu.noVector", "BASED4J_CPU_NO_VECTOR", "false",
            "true forces the CPU backend's plain-Java F32 kernels even when jdk.incubator.vector is present.");

    /** @return every setting of the CPU backend */
    public static List<Setting> all() {
        return List.of(THREADS, NO_VECTOR);
    }

    /**
     * @return the configured worker count, 0 resolved to the processors available to the JVM
     * @throws IllegalArgumentException naming the setting when it is not an integer in 0..4·processors (more
     *     workers than that only contend: each polls briefly before it parks)
     */
    public static int threads() {
        int processors = Runtime.getRuntime().availableProcessors();
        int n = THREADS.intValue(0, maxThreads());
        return n == 0 ? processors : n;
    }

    /** @return the most worker threads accepted on this machine */
    public static int maxThreads() {
        return Math.max(4, 4 * Runtime.getRuntime().availableProcessors());
    }

    /**
     * @return whether the plain float32 kernels are forced
     * @throws IllegalArgumentException naming the setting when it is not a boolean
     */
    public static boolean noVector() {
        return NO_VECTOR.booleanValue();
    }
}
