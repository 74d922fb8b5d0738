package dev.based4j.recall.capacity;

import java.util.SplittableRandom;

/**
 * The random, untrained embeddings of the one-head recall model. Key embeddings are uniformly random directions
 * of norm {@code √keyDim} (components about ±1), so with the softmax scale {@code 1/√keyDim} a key scores
 * {@code √keyDim} against itself and about N(0, 1) against another key. Value embeddings are uniformly random unit
 * vectors; the model reads a value out as the token whose value embedding has the largest dot product with the
 * head's output (a tied read-out).
 */
public final class RecallEmbeddings {
    private final int vocabSize;
    private final int keyDim;
    private final int valueDim;
    private final double[] keys;
    private final double[] values;

    private RecallEmbeddings(int vocabSize, int keyDim, int valueDim, double[] keys, double[] values) {
        this.vocabSize = vocabSize;
        this.keyDim = keyDim;
        this.valueDim = valueDim;
        this.keys = keys;
        this.values = values;
    }

    /**
     * Draws the embeddings.
     *
     * @param vocabSize tokens, at least 1
     * @param keyDim query/key dimension, at least 1
     * @param valueDim value dimension, at least 1
     * @param seed the seed; the key table and the value table come from independent streams, so the values of a
     *     seed do not depend on {@code keyDim}
     * @throws IllegalArgumentException naming a size below 1
     */
    public static RecallEmbeddings random(int vocabSize, int keyDim, int valueDim, long seed) {
        check("vocabSize", vocabSize);
        check("keyDim", keyDim);
        check("valueDim", valueDim);
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom keyRandom = root.split();
        SplittableRandom valueRandom = root.split();
        double[] keys = new double[Math.multiplyExact(vocabSize, keyDim)];
        double[] values = new double[Math.multiplyExact(vocabSize, valueDim)];
        for (int t = 0; t < vocabSize; t++) {
            randomDirection(keyRandom, keys, t * keyDim, keyDim, Math.sqrt(keyDim));
            randomDirection(valueRandom, values, t * valueDim, valueDim, 1.0);
        }
        return new RecallEmbeddings(vocabSize, keyDim, valueDim, keys, values);
    }

    private static void check(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }

    /** A Gaussian vector scaled to {@code norm}: a uniformly random direction. */
    private static void randomDirection(SplittableRandom random, double[] out, int offset, int dim, double norm) {
        double sum;
        do {
            sum = 0;
            for (int i = 0; i < dim; i++) {
                double g = random.nextGaussian();
                out[offset + i] = g;
                sum += g * g;
            }
        } while (sum == 0);
        double scale = norm / Math.sqrt(sum);
        for (int i = 0; i < dim; i++) {
            out[offset + i] *= scale;
        }
    }

    /** @return tokens */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return query/key dimension */
    public int keyDim() {
        return keyDim;
    }

    /** @return value dimension */
    public int valueDim() {
        return valueDim;
    }

    /** Copies token {@code token}'s key embedding into {@code out} at {@code offset}. */
    void copyKey(int token, double[] out, int offset) {
        System.arraycopy(keys, checkToken(token) * keyDim, out, offset, keyDim);
    }

    /** Copies token {@code token}'s value embedding into {@code out} at {@code offset}. */
    void copyValue(int token, double[] out, int offset) {
        System.arraycopy(values, checkToken(token) * valueDim, out, offset, valueDim);
    }

    /** @return a copy of token {@code token}'s key embedding */
    public double[] key(int token) {
        double[] out = new double[keyDim];
        copyKey(token, out, 0);
        return out;
    }

    /** @return a copy of token {@code token}'s value embedding */
    public double[] value(int token) {
        double[] out = new double[valueDim];
        copyValue(token, out, 0);
        return out;
    }

    /**
     * The tied read-out: the token whose value embedding has the largest dot product with {@code y} (the lowest id
     * among equals).
     *
     * @param y {@link #valueDim()} values from {@code offset}
     */
    public int readOut(double[] y, int offset) {
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < vocabSize; t++) {
            double s = 0;
            int o = t * valueDim;
            for (int j = 0; j < valueDim; j++) {
                s += y[offset + j] * values[o + j];
            }
            if (s > bestScore) {
                bestScore = s;
                best = t;
            }
        }
        return best;
    }

    private int checkToken(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token: expected an id in [0, " + vocabSize + "), got " + token);
        }
        return token;
    }
}
