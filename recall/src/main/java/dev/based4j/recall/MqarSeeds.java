package dev.based4j.recall;

import java.util.SplittableRandom;

/**
 * Per-segment seeds as zoology derives them: one master seed (zoology's default 123) drives a generator that
 * hands each data segment its own seed, train seeds from {@code [0, MAX_SEED/2)} and test seeds from
 * {@code [MAX_SEED/2, MAX_SEED)}, so train and test never share a segment seed.
 */
public final class MqarSeeds {
    /** zoology's default master seed. */
    public static final long DEFAULT_MASTER_SEED = 123;
    /** Seeds lie in {@code [0, MAX_SEED)}: numpy's seed range, {@code 2^32}. */
    public static final long MAX_SEED = 1L << 32;

    /** Which half of the seed range a segment draws from. */
    public enum Split {
        /** {@code [0, MAX_SEED/2)}. */
        TRAIN,
        /** {@code [MAX_SEED/2, MAX_SEED)}. */
        TEST
    }

    private MqarSeeds() {}

    /**
     * @param masterSeed the run's seed
     * @param split train or test
     * @param count segments, at least 1
     * @return {@code count} seeds for the segments of {@code split}, in order
     * @throws IllegalArgumentException when {@code split} is null or {@code count < 1}
     */
    public static long[] segmentSeeds(long masterSeed, Split split, int count) {
        if (split == null) {
            throw new IllegalArgumentException("split: expected TRAIN or TEST, got null");
        }
        if (count < 1) {
            throw new IllegalArgumentException("count: expected >= 1, got " + count);
        }
        // one stream per split, so adding test segments does not change the train seeds
        SplittableRandom root = new SplittableRandom(masterSeed);
        SplittableRandom train = root.split();
        SplittableRandom test = root.split();
        SplittableRandom random = split == Split.TRAIN ? train : test;
        long half = MAX_SEED / 2;
        long offset = split == Split.TRAIN ? 0 : half;
        long[] seeds = new long[count];
        for (int i = 0; i < count; i++) {
            seeds[i] = offset + random.nextLong(half);
        }
        return seeds;
    }
}
