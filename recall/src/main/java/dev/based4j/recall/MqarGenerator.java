package dev.based4j.recall;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Generates MQAR examples exactly as zoology's {@code multiquery_ar} defines them ({@code spec/based-math.md} f),
 * with {@code num_passes = 1}. Per example:
 * <ol>
 *   <li>N distinct keys from {@code [1, V/2)} and N distinct values from {@code [V/2, V)}, each an ordered sample
 *       without replacement;</li>
 *   <li>the context {@code k1 v1 k2 v2 ... kN vN} (positions {@code 0 .. 2N-1});</li>
 *   <li>N distinct gaps from {@code [0, (L-2N)/2)} drawn one after another without replacement with
 *       {@code P(g) ∝ a (g+1)^(a-1)} renormalised over the gaps still free (what numpy's
 *       {@code choice(replace=False, p=p)} does); key {@code i} is repeated at {@code 2N + 2 g_i};</li>
 *   <li>labels {@link MqarDataset#IGNORE} except {@code label[2N + 2 g_i] = v_i}: the model must emit the value
 *       at the position of the repeated key;</li>
 *   <li>if {@code randomNonQueries}, every other position (still 0) gets a uniform random token in
 *       {@code [0, V)}; such fillers may collide with keys, as in zoology.</li>
 * </ol>
 *
 * <p>Randomness comes from {@link SplittableRandom} seeded with the given seed, so a seed reproduces a segment
 * exactly on any JVM. It does not reproduce numpy's bit stream: the same seed gives the same distribution as
 * zoology, not the same sequences.
 */
public final class MqarGenerator {
    private MqarGenerator() {}

    /**
     * Generates one segment.
     *
     * @param config its shape
     * @param numExamples examples to make, at least 1
     * @param seed the segment's seed
     * @throws IllegalArgumentException when {@code config} is null or {@code numExamples < 1}
     */
    public static MqarDataset generate(MqarConfig config, int numExamples, long seed) {
        if (config == null) {
            throw new IllegalArgumentException("config: expected an MqarConfig, got null");
        }
        if (numExamples < 1) {
            throw new IllegalArgumentException("numExamples: expected >= 1, got " + numExamples);
        }
        SplittableRandom random = new SplittableRandom(seed);
        int n = config.numKvPairs();
        int len = config.seqLen();
        int[][] inputs = new int[numExamples][];
        int[][] labels = new int[numExamples][];
        int[][] keys = new int[numExamples][];
        int[][] values = new int[numExamples][];
        int[][] gaps = new int[numExamples][];
        double[] p = config.gapProbabilities();
        for (int e = 0; e < numExamples; e++) {
            keys[e] = sampleDistinct(random, 1, config.firstValueToken(), n);
            values[e] = sampleDistinct(random, config.firstValueToken(), config.vocabSize(), n);
            gaps[e] = sampleWeightedWithoutReplacement(random, p, n);
            int[] x = new int[len];
            int[] y = new int[len];
            Arrays.fill(y, MqarDataset.IGNORE);
            for (int i = 0; i < n; i++) {
                x[2 * i] = keys[e][i];
                x[2 * i + 1] = values[e][i];
                int q = config.contextLength() + 2 * gaps[e][i];
                x[q] = keys[e][i];
                y[q] = values[e][i];
            }
            if (config.randomNonQueries()) {
                for (int t = 0; t < len; t++) {
                    if (x[t] == 0) {
                        x[t] = random.nextInt(config.vocabSize());
                    }
                }
            }
            inputs[e] = x;
            labels[e] = y;
        }
        return new MqarDataset(config, seed, inputs, labels, keys, values, gaps);
    }

    /** An ordered uniform sample of {@code count} distinct ints from {@code [from, to)}. */
    static int[] sampleDistinct(SplittableRandom random, int from, int to, int count) {
        int range = to - from;
        if (count > range) {
            throw new IllegalArgumentException(
                    "count: expected <= " + range + " distinct values in [" + from + ", " + to + "), got " + count);
        }
        int[] out = new int[count];
        // rejection keeps every ordered sample equally likely; count <= range/2 here, so few draws repeat
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < count; i++) {
            int v;
            do {
                v = from + random.nextInt(range);
            } while (!seen.add(v));
            out[i] = v;
        }
        return out;
    }

    /**
     * {@code count} distinct indices drawn one after another, each with probability proportional to its weight
     * among the indices not chosen yet (successive sampling, the distribution of numpy's
     * {@code choice(replace=False, p=...)}).
     */
    static int[] sampleWeightedWithoutReplacement(SplittableRandom random, double[] weights, int count) {
        Objects.requireNonNull(weights, "weights");
        if (count > weights.length) {
            throw new IllegalArgumentException("count: expected <= " + weights.length + ", got " + count);
        }
        double[] w = weights.clone();
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            double total = 0;
            for (double x : w) {
                total += x;
            }
            double u = random.nextDouble() * total;
            int pick = -1;
            double acc = 0;
            for (int g = 0; g < w.length; g++) {
                if (w[g] > 0) {
                    pick = g;
                    acc += w[g];
                    if (u < acc) {
                        break;
                    }
                }
            }
            // pick is the last free index when rounding leaves u just above the running sum
            out[i] = pick;
            w[pick] = 0;
        }
        return out;
    }
}
