package dev.based4j.recall;

import java.util.Objects;

/**
 * A generated MQAR segment: {@code numExamples} sequences of {@link MqarConfig#seqLen()} tokens with their labels,
 * and for each example the pairs and gaps they were built from. Immutable: every accessor returns a copy.
 *
 * <p>Example {@code e}, pair {@code i} (in context order): key {@code keys(e)[i]} at position {@code 2i}, value
 * {@code values(e)[i]} at {@code 2i+1}, and the query (the key again) at {@link #queryPosition(int, int)}
 * {@code = 2N + 2·gaps(e)[i]}, where the label is the value; every other label is {@link #IGNORE}.
 */
public final class MqarDataset {
    /** The label of positions that are not scored (PyTorch's cross-entropy {@code ignore_index}). */
    public static final int IGNORE = -100;

    private final MqarConfig config;
    private final long seed;
    private final int[][] inputs;
    private final int[][] labels;
    private final int[][] keys;
    private final int[][] values;
    private final int[][] gaps;

    MqarDataset(MqarConfig config, long seed, int[][] inputs, int[][] labels, int[][] keys, int[][] values,
            int[][] gaps) {
        this.config = Objects.requireNonNull(config, "config");
        this.seed = seed;
        this.inputs = inputs;
        this.labels = labels;
        this.keys = keys;
        this.values = values;
        this.gaps = gaps;
    }

    /** @return the segment's shape */
    public MqarConfig config() {
        return config;
    }

    /** @return the seed it was generated from */
    public long seed() {
        return seed;
    }

    /** @return number of examples */
    public int size() {
        return inputs.length;
    }

    /** @return a copy of example {@code e}'s tokens, length L */
    public int[] inputs(int e) {
        return row(inputs, e, "e").clone();
    }

    /** @return a copy of example {@code e}'s labels, length L: a value at each query position, else {@link #IGNORE} */
    public int[] labels(int e) {
        return row(labels, e, "e").clone();
    }

    /** @return a copy of example {@code e}'s N keys in context order */
    public int[] keys(int e) {
        return row(keys, e, "e").clone();
    }

    /** @return a copy of example {@code e}'s N values in context order */
    public int[] values(int e) {
        return row(values, e, "e").clone();
    }

    /** @return a copy of example {@code e}'s N gaps: pair {@code i} is queried at {@code 2N + 2·gaps[i]} */
    public int[] gaps(int e) {
        return row(gaps, e, "e").clone();
    }

    /** @return the position of the query of pair {@code i} in example {@code e} */
    public int queryPosition(int e, int i) {
        int[] g = row(gaps, e, "e");
        if (i < 0 || i >= g.length) {
            throw new IllegalArgumentException("i: expected a pair index in [0, " + g.length + "), got " + i);
        }
        return config.contextLength() + 2 * g[i];
    }

    /** @return copies of the tokens of examples {@code [from, to)}, one row each */
    public int[][] inputs(int from, int to) {
        return rows(inputs, from, to);
    }

    /** @return copies of the labels of examples {@code [from, to)}, one row each */
    public int[][] labels(int from, int to) {
        return rows(labels, from, to);
    }

    private int[][] rows(int[][] all, int from, int to) {
        if (from < 0 || to > all.length || from > to) {
            throw new IllegalArgumentException(
                    "range: expected 0 <= from <= to <= " + all.length + ", got [" + from + ", " + to + ")");
        }
        int[][] out = new int[to - from][];
        for (int e = from; e < to; e++) {
            out[e - from] = all[e].clone();
        }
        return out;
    }

    private static int[] row(int[][] all, int e, String name) {
        if (e < 0 || e >= all.length) {
            throw new IllegalArgumentException(name + ": expected an example index in [0, " + all.length + "), got " + e);
        }
        return all[e];
    }

    @Override
    public String toString() {
        return "MqarDataset[" + config.describe() + ", " + size() + " examples, seed " + seed + "]";
    }
}
