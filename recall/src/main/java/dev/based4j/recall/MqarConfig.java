package dev.based4j.recall;

/**
 * One MQAR data segment's shape, as zoology's {@code multiquery_ar} takes it ({@code spec/based-math.md} f).
 * Token ids: keys are drawn from {@code [1, V/2)}, values from {@code [V/2, V)}, and 0 is the empty filler
 * (replaced by random tokens in {@code [0, V)} when {@code randomNonQueries} is on).
 *
 * @param vocabSize V, the vocabulary size; must exceed {@code seqLen} (zoology's assertion; 8192 in the paper)
 * @param seqLen L, tokens per example; even, and at least {@code 4 * numKvPairs}
 * @param numKvPairs N, key-value pairs per example, at least 1
 * @param powerA a of the power law {@code P(g) ∝ a (g+1)^(a-1)} that places queries; 0.01 in zoology and the
 *     paper, 1 makes it uniform; in {@code (0, 1]}
 * @param randomNonQueries whether empty slots get uniform random tokens in {@code [0, V)} (zoology default: true)
 */
public record MqarConfig(int vocabSize, int seqLen, int numKvPairs, double powerA, boolean randomNonQueries) {
    /** zoology's and the paper's power-law exponent. */
    public static final double DEFAULT_POWER_A = 0.01;
    /** The vocabulary of the paper's MQAR runs. */
    public static final int PAPER_VOCAB_SIZE = 8192;

    /**
     * Validates with zoology's assertions.
     *
     * @throws IllegalArgumentException naming the field, its value and the rule it breaks
     */
    public MqarConfig {
        if (numKvPairs < 1) {
            throw new IllegalArgumentException("numKvPairs: expected >= 1, got " + numKvPairs);
        }
        if (seqLen < 4 || seqLen % 2 != 0) {
            throw new IllegalArgumentException("seqLen: expected an even number >= 4, got " + seqLen);
        }
        if (4L * numKvPairs > seqLen) {
            throw new IllegalArgumentException("numKvPairs: expected 4*numKvPairs <= seqLen=" + seqLen
                    + " (context of 2N tokens plus N query slots of 2 tokens), got " + numKvPairs);
        }
        if (vocabSize <= seqLen) {
            throw new IllegalArgumentException("vocabSize: expected > seqLen=" + seqLen + ", got " + vocabSize);
        }
        if (!(powerA > 0 && powerA <= 1)) {
            throw new IllegalArgumentException("powerA: expected a value in (0, 1], got " + powerA);
        }
    }

    /** zoology's defaults: {@code a = 0.01}, random fillers on. */
    public static MqarConfig of(int vocabSize, int seqLen, int numKvPairs) {
        return new MqarConfig(vocabSize, seqLen, numKvPairs, DEFAULT_POWER_A, true);
    }

    /** @return a copy with another {@code numKvPairs} */
    public MqarConfig withNumKvPairs(int n) {
        return new MqarConfig(vocabSize, seqLen, n, powerA, randomNonQueries);
    }

    /** @return the first value token, {@code V/2}; keys are {@code [1, V/2)} */
    public int firstValueToken() {
        return vocabSize / 2;
    }

    /** @return whether {@code token} is in the key vocabulary {@code [1, V/2)} */
    public boolean isKey(int token) {
        return token >= 1 && token < firstValueToken();
    }

    /** @return whether {@code token} is in the value vocabulary {@code [V/2, V)} */
    public boolean isValue(int token) {
        return token >= firstValueToken() && token < vocabSize;
    }

    /** @return how many distinct value tokens there are, {@code V - V/2} */
    public int valueVocabSize() {
        return vocabSize - firstValueToken();
    }

    /** @return tokens of the key-value context, {@code 2N} */
    public int contextLength() {
        return 2 * numKvPairs;
    }

    /** @return query slots after the context, {@code (L - 2N)/2}; gap g puts a query at {@code 2N + 2g} */
    public int querySpace() {
        return (seqLen - contextLength()) / 2;
    }

    /**
     * The power law over gaps, normalised: {@code P(g) = a (g+1)^(a-1) / Σ_h a (h+1)^(a-1)} for
     * {@code g ∈ [0, querySpace)}.
     *
     * @return one probability per gap
     */
    public double[] gapProbabilities() {
        int space = querySpace();
        double[] p = new double[space];
        double sum = 0;
        for (int g = 0; g < space; g++) {
            p[g] = powerA * Math.pow(g + 1, powerA - 1);
            sum += p[g];
        }
        for (int g = 0; g < space; g++) {
            p[g] /= sum;
        }
        return p;
    }

    /** @return e.g. {@code V=8192 L=256 N=64 a=0.01} */
    public String describe() {
        return "V=" + vocabSize + " L=" + seqLen + " N=" + numKvPairs + " a=" + powerA
                + (randomNonQueries ? "" : " zero-fillers");
    }
}
