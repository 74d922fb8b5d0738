package dev.based4j.conformance.hardening;

import dev.based4j.Setting;
import java.util.Locale;

/**
 * How much work each harness does: {@link #REDUCED} in every build, {@link #FULL} for the long run (Maven profile
 * {@code -Phardening}, or {@code based4j.hardening.scale=full}).
 *
 * @param fuzzedCalls invalid calls the fuzzer makes per backend
 * @param fuzzBatch invalid calls between two valid sentinel calls
 * @param kernelCalls small kernel calls of the leak check
 * @param saveLoadCycles state save/load cycles of the leak check
 * @param threads threads of the concurrency check
 * @param stepsPerThread decode steps each thread runs
 */
public record HardeningScale(String name, int fuzzedCalls, int fuzzBatch, int kernelCalls, int saveLoadCycles,
        int threads, int stepsPerThread) {

    /** The size run by {@code ./mvnw verify}. */
    public static final HardeningScale REDUCED = new HardeningScale("reduced", 2_000, 250, 5_000, 100, 8, 25);

    /** The size the issue asks for; minutes per backend. */
    public static final HardeningScale FULL = new HardeningScale("full", 10_000, 100, 1_000_000, 10_000, 8, 10_000);

    /** Which size the hardening kit runs at. */
    public static final Setting SETTING = new Setting("based4j.hardening.scale", "BASED4J_HARDENING_SCALE",
            "reduced", "Size of the hardening harnesses (fuzzing, leaks, threads): 'reduced' for every build, 'full'"
                    + " for the long run (10,000 fuzzed calls, 1,000,000 kernel calls, 8 threads x 10,000 steps).");

    /**
     * @return the scale named by {@link #SETTING}
     * @throws IllegalArgumentException naming the setting when it is neither {@code reduced} nor {@code full}
     */
    public static HardeningScale configured() {
        String v = SETTING.value().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "reduced", "" -> REDUCED;
            case "full" -> FULL;
            default -> throw new IllegalArgumentException(SETTING.names()
                    + ": expected 'reduced' or 'full', got '" + v + "'");
        };
    }
}
