package dev.based4j.recall.capacity;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a run measured, with where it ran.
 *
 * @param config what was swept
 * @param backend the backend's name
 * @param device the device it ran on, in words
 * @param measurements every evaluation, in run order
 * @param skipped mixers the backend could not run, with the reason
 * @param elapsed wall time of the run
 */
public record CapacityResults(CapacityConfig config, String backend, String device,
        List<CapacityMeasurement> measurements, List<Skipped> skipped, Duration elapsed) {

    /**
     * A mixer left out because the backend cannot run it.
     *
     * @param mixer the head
     * @param reason why, from the backend's capabilities
     */
    public record Skipped(RecallMixer mixer, String reason) {}

    /** Copies the lists. */
    public CapacityResults {
        measurements = List.copyOf(measurements);
        skipped = List.copyOf(skipped);
    }

    /** @return one point per (mixer, N) that was measured, in the config's mixer order, then by N */
    public List<CapacityPoint> summary() {
        Map<String, List<CapacityMeasurement>> groups = new LinkedHashMap<>();
        for (RecallMixer m : config.mixers()) {
            for (int n : config.kvPairs()) {
                groups.put(key(m, n), new ArrayList<>());
            }
        }
        for (CapacityMeasurement m : measurements) {
            groups.get(key(m.mixer(), m.numKvPairs())).add(m);
        }
        List<CapacityPoint> points = new ArrayList<>();
        for (List<CapacityMeasurement> group : groups.values()) {
            if (group.isEmpty()) {
                continue;
            }
            double mean = group.stream().mapToDouble(CapacityMeasurement::accuracy).average().orElseThrow();
            double var = group.stream().mapToDouble(m -> (m.accuracy() - mean) * (m.accuracy() - mean)).sum();
            double sd = group.size() < 2 ? 0 : Math.sqrt(var / (group.size() - 1));
            double min = group.stream().mapToDouble(CapacityMeasurement::accuracy).min().orElseThrow();
            double max = group.stream().mapToDouble(CapacityMeasurement::accuracy).max().orElseThrow();
            CapacityMeasurement first = group.getFirst();
            points.add(new CapacityPoint(first.mixer(), first.numKvPairs(), first.stateBytes(), mean, sd, min, max,
                    group.size()));
        }
        return points;
    }

    /** @return the summary point of {@code mixer} at {@code numKvPairs}, if measured */
    public Optional<CapacityPoint> point(RecallMixer mixer, int numKvPairs) {
        return summary().stream()
                .filter(p -> p.mixer().equals(mixer) && p.numKvPairs() == numKvPairs)
                .findFirst();
    }

    private static String key(RecallMixer m, int n) {
        return m.label() + "\u0000" + n;
    }
}
