package dev.based4j.recall.capacity;

/**
 * One evaluation: a mixer on one MQAR segment.
 *
 * @param mixer the head
 * @param numKvPairs N of the segment
 * @param seedIndex which repetition, {@code 0 .. seeds-1}
 * @param dataSeed the segment's seed (the embeddings derive from it)
 * @param accuracy MQAR accuracy in {@code [0, 1]}
 * @param queries query positions scored
 * @param stateBytes bytes of the head's state per sequence, measured from the state object
 * @param nanos wall time of the evaluation
 */
public record CapacityMeasurement(RecallMixer mixer, int numKvPairs, int seedIndex, long dataSeed, double accuracy,
        long queries, long stateBytes, long nanos) {}
