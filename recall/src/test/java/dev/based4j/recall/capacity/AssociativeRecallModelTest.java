package dev.based4j.recall.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backends;
import dev.based4j.featuremap.Taylor;
import dev.based4j.recall.MqarConfig;
import dev.based4j.recall.MqarDataset;
import dev.based4j.recall.MqarEvaluator;
import dev.based4j.recall.MqarGenerator;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AssociativeRecallModelTest {
    private static final long SEED = 4242L;
    private static final MqarConfig MQAR = MqarConfig.of(300, 128, 16);
    private static Backend cpu;

    @BeforeAll
    static void open() {
        cpu = Backends.select("cpu");
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    @Test
    void fullAttentionWithWideKeysRecallsAlmostEverything() {
        MqarDataset data = MqarGenerator.generate(MQAR, 16, SEED);
        RecallEmbeddings e = RecallEmbeddings.random(MQAR.vocabSize(), 64, 64, SEED);
        AssociativeRecallModel model = new AssociativeRecallModel(cpu, DType.F64, new RecallMixer.FullAttention(64), e);
        double accuracy = MqarEvaluator.evaluate(model, data, 8).accuracy();
        // the misses are fillers that repeat a key and so store it with a random token, as in MQAR itself
        assertThat(accuracy).as("full attention, key dim 64 (self score 8), seed %d", SEED).isGreaterThan(0.9);
    }

    @Test
    void aSlidingWindowRecallsOnlyPairsInsideIt() {
        int lookback = 24;
        MqarDataset data = MqarGenerator.generate(MQAR, 32, SEED);
        RecallEmbeddings e = RecallEmbeddings.random(MQAR.vocabSize(), 64, 64, SEED);
        AssociativeRecallModel model =
                new AssociativeRecallModel(cpu, DType.F64, new RecallMixer.Window(64, lookback), e);
        int[][] tokens = data.inputs(0, data.size());
        int[][] positions = new int[data.size()][16];
        for (int b = 0; b < data.size(); b++) {
            for (int i = 0; i < 16; i++) {
                positions[b][i] = data.queryPosition(b, i);
            }
        }
        int[][] predicted = model.predictAt(tokens, positions);
        int inside = 0;
        int insideRight = 0;
        int outside = 0;
        int outsideRight = 0;
        for (int b = 0; b < data.size(); b++) {
            int[] values = data.values(b);
            for (int i = 0; i < 16; i++) {
                // pair i is written at position 2i+1 (key of the previous token, value of this one)
                boolean seen = 2 * i + 1 >= positions[b][i] - lookback;
                boolean right = predicted[b][i] == values[i];
                if (seen) {
                    inside++;
                    insideRight += right ? 1 : 0;
                } else {
                    outside++;
                    outsideRight += right ? 1 : 0;
                }
            }
        }
        assertThat(inside).as("queries with their pair inside the window").isGreaterThan(20);
        assertThat(outside).as("queries with their pair outside the window").isGreaterThan(100);
        assertThat((double) insideRight / inside).as("recall inside a %d-token window, seed %d", lookback, SEED)
                .isGreaterThan(0.9);
        // outside, a right answer needs the value itself among the fillers in the window: chance level
        assertThat((double) outsideRight / outside).as("recall outside the window, seed %d", SEED).isLessThan(0.05);
    }

    @Test
    void reportsTheStateSizeOfTheSdkStateObjects() {
        int seq = MQAR.seqLen();
        MqarDataset data = MqarGenerator.generate(MQAR, 2, SEED);
        int dv = 64;
        long f32 = 4;
        assertThat(stateBytes(new RecallMixer.Linear(new Taylor(16)), data, dv)).as("(dv+1)·273 floats")
                .isEqualTo((dv + 1) * 273 * f32);
        assertThat(stateBytes(new RecallMixer.Window(16, 32), data, dv)).as("33 slots of key and value")
                .isEqualTo(33 * (16 + dv) * f32);
        assertThat(stateBytes(new RecallMixer.FullAttention(16), data, dv)).as("every token's key and value")
                .isEqualTo(seq * (16 + dv) * f32);
        assertThat(stateBytes(new RecallMixer.Fused(new Taylor(16), 32), data, dv)).as("linear state plus ring")
                .isEqualTo(((dv + 1) * 273 + 33 * (16 + dv)) * f32);
    }

    private static long stateBytes(RecallMixer mixer, MqarDataset data, int dv) {
        RecallEmbeddings e = RecallEmbeddings.random(MQAR.vocabSize(), mixer.keyDim(), dv, SEED);
        AssociativeRecallModel model = new AssociativeRecallModel(cpu, DType.F32, mixer, e);
        model.predict(data.inputs(0, 2));
        return model.stateBytesPerSequence();
    }

    @Test
    void theHeadWritesThePreviousTokensKeyWithTheCurrentTokensValue() {
        // one pair, then its key: full attention with a very sharp key returns exactly the pair's value
        RecallEmbeddings e = RecallEmbeddings.random(10, 256, 8, SEED);
        AssociativeRecallModel model = new AssociativeRecallModel(cpu, DType.F64, new RecallMixer.FullAttention(256), e);
        double[] y = model.headOutput(new int[][] {{3, 7, 3}});
        double[] seven = e.value(7);
        for (int j = 0; j < 8; j++) {
            assertThat(y[2 * 8 + j]).as("output at the repeated key, component %d", j)
                    .isCloseTo(seven[j], org.assertj.core.data.Offset.offset(1e-3));
        }
    }

    @Test
    void refusesEmbeddingsOfAnotherKeyDimension() {
        RecallEmbeddings e = RecallEmbeddings.random(10, 8, 8, SEED);
        assertThatThrownBy(() -> new AssociativeRecallModel(cpu, DType.F32, new RecallMixer.Linear(new Taylor(16)), e))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyDim 16");
    }

    @Test
    void embeddingsAreReproducibleAndKeysHaveNormSqrtD() {
        RecallEmbeddings a = RecallEmbeddings.random(50, 16, 8, SEED);
        RecallEmbeddings b = RecallEmbeddings.random(50, 16, 8, SEED);
        RecallEmbeddings wide = RecallEmbeddings.random(50, 273, 8, SEED);
        assertThat(a.key(3)).isEqualTo(b.key(3));
        assertThat(wide.value(3)).as("values do not depend on the key dimension").isEqualTo(a.value(3));
        double norm = Math.sqrt(java.util.Arrays.stream(a.key(3)).map(x -> x * x).sum());
        assertThat(norm).isCloseTo(4.0, org.assertj.core.data.Offset.offset(1e-12));
    }
}
