package dev.based4j.conformance.hardening;

import dev.based4j.Settings;
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

    /**
     * @return the scale named by {@link Settings#HARDENING_SCALE}
     * @throws IllegalArgumentException naming the setting when it is neither {@code reduced} nor {@code full}
     */
    public static HardeningScale configured() {
        String v = Settings.HARDENING_SCALE.value().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "reduced", "" -> REDUCED;
            case "full" -> FULL;
            default -> throw new IllegalArgumentException(Settings.HARDENING_SCALE.property()
                    + ": expected 'reduced' or 'full', got '" + v + "'");
        };
    }
}
