package dev.based4j.recall.capacity;

import dev.based4j.featuremap.CosFormer;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Relu;
import dev.based4j.featuremap.Square;
import dev.based4j.featuremap.Taylor;
import dev.based4j.recall.MqarConfig;
import dev.based4j.recall.MqarSeeds;
import dev.based4j.tensor.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * What the recall-capacity experiment sweeps. For every {@code numKvPairs} in {@link #kvPairs()} and every seed,
 * one MQAR segment of {@link #examples()} sequences is generated and every mixer is scored on it (paired: all
 * mixers see the same data and, per key dimension, the same embeddings).
 *
 * @param vocabSize MQAR vocabulary V, larger than {@code seqLen}
 * @param seqLen MQAR sequence length L, even
 * @param kvPairs the numbers of key-value pairs N to test, each with {@code 4N <= L}
 * @param valueDim dimension of the value embeddings (the head dimension of the values), at least 1
 * @param examples sequences per segment (per N and seed), at least 1
 * @param seeds repetitions with independent data and embeddings, at least 1
 * @param masterSeed seed from which every segment's seed derives ({@link MqarSeeds})
 * @param dtype precision the head runs in
 * @param batchSize sequences per kernel call, at least 1
 * @param mixers the heads to compare, at least one, labels unique
 */
public record CapacityConfig(int vocabSize, int seqLen, List<Integer> kvPairs, int valueDim, int examples, int seeds,
        long masterSeed, DType dtype, int batchSize, List<RecallMixer> mixers) {

    /** Default V: above every default L, small enough for a fast tied read-out. */
    public static final int DEFAULT_VOCAB = 512;
    /** Default L. */
    public static final int DEFAULT_SEQ_LEN = 256;
    /** Default value dimension: the head dimension of the 360m model. */
    public static final int DEFAULT_VALUE_DIM = 64;
    /** Query/key dimension of the window, fused and full-attention heads: BASED's feature dimension. */
    public static final int WINDOW_KEY_DIM = 16;
    /** Seed of the Performer projections of the default sweep. */
    public static final long PERFORMER_SEED = 1;

    /**
     * Validates every field.
     *
     * @throws IllegalArgumentException naming the field, its value and what was expected
     */
    public CapacityConfig {
        if (kvPairs == null || kvPairs.isEmpty()) {
            throw new IllegalArgumentException("kvPairs: expected at least one number of pairs, got " + kvPairs);
        }
        kvPairs = List.copyOf(kvPairs);
        for (int n : kvPairs) {
            MqarConfig.of(vocabSize, seqLen, n);
        }
        positive("valueDim", valueDim);
        positive("examples", examples);
        positive("seeds", seeds);
        positive("batchSize", batchSize);
        if (dtype == null) {
            throw new IllegalArgumentException("dtype: expected f32 or f64, got null");
        }
        if (mixers == null || mixers.isEmpty()) {
            throw new IllegalArgumentException("mixers: expected at least one mixer, got " + mixers);
        }
        mixers = List.copyOf(mixers);
        if (mixers.stream().map(RecallMixer::label).distinct().count() != mixers.size()) {
            throw new IllegalArgumentException("mixers: expected unique labels, got "
                    + mixers.stream().map(RecallMixer::label).toList());
        }
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }

    /**
     * The default sweep: V = 512, L = 256, N ∈ {16, 32, 64}, value dimension 64, 3 seeds of 16 sequences each,
     * float32, and {@link #defaultMixers(int)}.
     */
    public static CapacityConfig defaults() {
        return new CapacityConfig(DEFAULT_VOCAB, DEFAULT_SEQ_LEN, List.of(16, 32, 64), DEFAULT_VALUE_DIM, 16, 3,
                MqarSeeds.DEFAULT_MASTER_SEED, DType.F32, 16, defaultMixers(DEFAULT_SEQ_LEN));
    }

    /** {@link #defaultMixers(int, List)} with lookbacks 16, 32, 64, ... below {@code seqLen}. */
    public static List<RecallMixer> defaultMixers(int seqLen) {
        return defaultMixers(seqLen, defaultLookbacks(seqLen));
    }

    /** @return 16, 32, 64, ... while below {@code seqLen - 1} (a lookback of {@code seqLen - 1} is full attention) */
    public static List<Integer> defaultLookbacks(int seqLen) {
        List<Integer> lookbacks = new ArrayList<>();
        for (int w = 16; w < seqLen - 1; w *= 2) {
            lookbacks.add(w);
        }
        return lookbacks;
    }

    /**
     * The default heads. Linear attention with Taylor at f = 8, 16, 24 (feature dimensions D = 73, 273, 601), and
     * PosELU, ReLU, Square, Performer (input {@value #WINDOW_KEY_DIM}, M = D features) and CosFormer (d = D/2) at
     * the same D, so every map is measured at Taylor's state sizes (CosFormer's 2·⌊D/2⌋ is one short); sliding
     * windows and the fused layer (Taylor f = {@value #WINDOW_KEY_DIM}) with each lookback; full softmax
     * attention. Window, fused and full attention use query/key dimension {@value #WINDOW_KEY_DIM}.
     *
     * @param seqLen the sequence length (kept for symmetry with {@link #defaultMixers(int)})
     * @param lookbacks window sizes (previous tokens each query sees), each at least 0
     * @throws IllegalArgumentException for a null list or a negative lookback
     */
    public static List<RecallMixer> defaultMixers(int seqLen, List<Integer> lookbacks) {
        if (lookbacks == null) {
            throw new IllegalArgumentException("lookbacks: expected a list, got null");
        }
        List<RecallMixer> mixers = new ArrayList<>();
        int[] taylorDims = {8, 16, 24};
        for (int f : taylorDims) {
            mixers.add(new RecallMixer.Linear(new Taylor(f)));
        }
        for (int f : taylorDims) {
            int expanded = new Taylor(f).outputDim();
            mixers.add(new RecallMixer.Linear(new PosElu(expanded)));
            mixers.add(new RecallMixer.Linear(new Relu(expanded)));
            mixers.add(new RecallMixer.Linear(new Square(expanded)));
            mixers.add(new RecallMixer.Linear(Performer.orthogonal(WINDOW_KEY_DIM, expanded, PERFORMER_SEED)));
            mixers.add(new RecallMixer.Linear(new CosFormer(expanded / 2)));
        }
        for (int w : lookbacks) {
            mixers.add(new RecallMixer.Window(WINDOW_KEY_DIM, w));
        }
        for (int w : lookbacks) {
            mixers.add(new RecallMixer.Fused(new Taylor(WINDOW_KEY_DIM), w));
        }
        mixers.add(new RecallMixer.FullAttention(WINDOW_KEY_DIM));
        return mixers;
    }

    /** @return a copy with other mixers */
    public CapacityConfig withMixers(List<RecallMixer> newMixers) {
        return new CapacityConfig(vocabSize, seqLen, kvPairs, valueDim, examples, seeds, masterSeed, dtype, batchSize,
                newMixers);
    }

    /** @return a copy in another precision */
    public CapacityConfig withDtype(DType newDtype) {
        return new CapacityConfig(vocabSize, seqLen, kvPairs, valueDim, examples, seeds, masterSeed, newDtype,
                batchSize, mixers);
    }

    /** @return the MQAR segment shape for {@code numKvPairs} */
    public MqarConfig mqar(int numKvPairs) {
        return MqarConfig.of(vocabSize, seqLen, numKvPairs);
    }

    /** @return how many (mixer, N, seed) evaluations a run makes */
    public int tasks() {
        return mixers.size() * kvPairs.size() * seeds;
    }
}
