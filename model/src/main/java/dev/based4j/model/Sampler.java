package dev.based4j.model;

import java.util.Arrays;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Picks the next token from one row of logits, as {@link GenerationOptions} describes: greedy, or temperature,
 * top-k and top-p sampling over the first {@code vocabSize} ids.
 *
 * <p>Sampling works in log space: each candidate's weight is {@code exp((logit − max) / temperature)}, a division of
 * a value ≤ 0 by the temperature, so it is correct for every finite temperature &gt; 0. The largest logit always
 * weighs exactly 1 and the others underflow to 0 as the temperature shrinks, so a tiny temperature (down to
 * {@link Double#MIN_VALUE}) draws the largest logit, as greedy does; only when several ids share the largest logit
 * does it draw among them uniformly (the limit of the softmax), where greedy takes the lowest id. Multiplying by
 * {@code 1/temperature} instead would overflow to infinity below about 5.6e-309 and turn the largest logit's weight
 * into {@code 0·∞ = NaN}.
 */
public final class Sampler {
    private final GenerationOptions options;
    private final int vocabSize;

    /**
     * @param vocabSize ids that may be drawn, {@code [0, vocabSize)}: the tokenizer's vocabulary, without padding
     */
    public Sampler(GenerationOptions options, int vocabSize) {
        this.options = Objects.requireNonNull(options, "options");
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize: expected >= 1, got " + vocabSize);
        }
        this.vocabSize = vocabSize;
    }

    /**
     * @param logits a row of at least {@code vocabSize} values from {@code offset}
     * @param random the sequence's generator (unused when greedy)
     * @return the chosen id
     * @throws IllegalStateException when a logit is NaN (the model produced garbage: nothing is drawn from it)
     */
    public int sample(float[] logits, int offset, RandomGenerator random) {
        Objects.requireNonNull(logits, "logits");
        if (offset < 0 || logits.length - offset < vocabSize) {
            throw new IllegalArgumentException("logits: expected " + vocabSize + " values from offset " + offset
                    + ", got an array of " + logits.length);
        }
        int best = 0;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabSize; i++) {
            float v = logits[offset + i];
            if (Float.isNaN(v)) {
                throw new IllegalStateException("logits: id " + i + " is NaN; the model's output is not usable");
            }
            if (v > max) {
                max = v;
                best = i;
            }
        }
        if (options.temperature() == 0 || max == Float.POSITIVE_INFINITY || max == Float.NEGATIVE_INFINITY) {
            return best;
        }
        Objects.requireNonNull(random, "random");
        // candidates in descending logit order (ties: lower id first), cut to top-k
        long[] keys = new long[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            int bits = Float.floatToIntBits(logits[offset + i]);
            int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF);
            keys[i] = ((long) sortable << 32) | (Integer.MAX_VALUE - i);
        }
        Arrays.sort(keys);
        int k = options.topK() == 0 ? vocabSize : Math.min(options.topK(), vocabSize);
        int[] ids = new int[k];
        double[] p = new double[k];
        double temperature = options.temperature();
        double sum = 0;
        for (int j = 0; j < k; j++) {
            int id = Integer.MAX_VALUE - (int) keys[vocabSize - 1 - j];
            ids[j] = id;
            // (logit − max) ≤ 0 divided by T > 0: 0 for the maximum whatever T is, −∞ at worst (weight 0), never NaN
            p[j] = Math.exp((logits[offset + id] - (double) max) / temperature);
            sum += p[j];
        }
        // top-p: the smallest prefix whose mass reaches topP (at least one token)
        int keep = k;
        if (options.topP() < 1) {
            double mass = 0;
            for (int j = 0; j < k; j++) {
                mass += p[j] / sum;
                if (mass >= options.topP()) {
                    keep = j + 1;
                    break;
                }
            }
        }
        double kept = 0;
        for (int j = 0; j < keep; j++) {
            kept += p[j];
        }
        double u = random.nextDouble() * kept;
        double acc = 0;
        for (int j = 0; j < keep; j++) {
            acc += p[j];
            if (u < acc) {
                return ids[j];
            }
        }
        return ids[keep - 1];
    }
}
