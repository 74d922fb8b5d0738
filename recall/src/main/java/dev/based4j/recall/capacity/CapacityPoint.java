package dev.based4j.recall.capacity;

/**
 * One mixer at one N, summarised over seeds.
 *
 * @param mixer the head
 * @param numKvPairs N
 * @param stateBytes bytes of state per sequence
 * @param mean mean accuracy over seeds
 * @param stdDev sample standard deviation over seeds (0 for one seed)
 * @param min lowest accuracy of a seed
 * @param max highest accuracy of a seed
 * @param seeds seeds measured
 */
public record CapacityPoint(RecallMixer mixer, int numKvPairs, long stateBytes, double mean, double stdDev,
        double min, double max, int seeds) {}
