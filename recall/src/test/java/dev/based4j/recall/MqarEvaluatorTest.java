package dev.based4j.recall;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MqarEvaluatorTest {
    private static final long SEED = 77L;

    /** Looks each token up: the token after its first earlier occurrence, else 0. */
    static final class ExactLookup implements TokenModel {
        @Override
        public int[][] predict(int[][] tokens) {
            int[][] out = new int[tokens.length][];
            for (int b = 0; b < tokens.length; b++) {
                int[] x = tokens[b];
                out[b] = new int[x.length];
                for (int t = 0; t < x.length; t++) {
                    for (int j = 0; j + 1 < t; j++) {
                        if (x[j] == x[t]) {
                            out[b][t] = x[j + 1];
                            break;
                        }
                    }
                }
            }
            return out;
        }
    }

    /** Answers a uniformly random value token everywhere. */
    static final class RandomValues implements TokenModel {
        private final MqarConfig config;
        private final SplittableRandom random;

        RandomValues(MqarConfig config, long seed) {
            this.config = config;
            this.random = new SplittableRandom(seed);
        }

        @Override
        public int[][] predict(int[][] tokens) {
            int[][] out = new int[tokens.length][];
            for (int b = 0; b < tokens.length; b++) {
                out[b] = new int[tokens[b].length];
                for (int t = 0; t < tokens[b].length; t++) {
                    out[b][t] = config.firstValueToken() + random.nextInt(config.valueVocabSize());
                }
            }
            return out;
        }
    }

    @Test
    void anExactLookupRecallsEverything() {
        MqarDataset data = MqarGenerator.generate(MqarConfig.of(8192, 256, 64), 64, SEED);
        MqarResult result = MqarEvaluator.evaluate(new ExactLookup(), data, 16);
        assertThat(result.accuracy()).as("accuracy of an exact lookup, seed %d", SEED).isEqualTo(1.0);
        assertThat(result.queries()).isEqualTo(64L * 64);
        assertThat(result.correct()).isEqualTo(result.queries());
    }

    @Test
    void randomAnswersScoreChance() {
        MqarConfig config = MqarConfig.of(64, 48, 8);
        MqarDataset data = MqarGenerator.generate(config, 2000, SEED);
        MqarResult result = MqarEvaluator.evaluate(new RandomValues(config, SEED), data);
        double chance = 1.0 / config.valueVocabSize();
        double sigma = Math.sqrt(chance * (1 - chance) / result.queries());
        assertThat(result.accuracy()).as("accuracy of random values vs chance 1/%d (σ %.5f), seed %d",
                config.valueVocabSize(), sigma, SEED).isBetween(chance - 4 * sigma, chance + 4 * sigma);
    }

    @Test
    void accuracyIsTheMeanOfPerExampleAccuracies() {
        MqarConfig config = MqarConfig.of(100, 32, 4);
        MqarDataset data = MqarGenerator.generate(config, 2, SEED);
        // right on example 0, wrong on the first query of example 1
        TokenModel model = (TokenModel) tokens -> {
            int[][] out = new ExactLookup().predict(tokens);
            if (tokens.length == 2) {
                out[1][data.queryPosition(1, 0)] = -1;
            }
            return out;
        };
        MqarResult result = MqarEvaluator.evaluate(model, data, 2);
        assertThat(result.accuracy()).isEqualTo((1.0 + 0.75) / 2);
        assertThat(result.correct()).isEqualTo(7);
    }

    @Test
    void logitsModelsPredictTheirArgmaxTakingTheFirstOfEqualMaxima() {
        LogitsModel model = new LogitsModel() {
            @Override
            public int vocabSize() {
                return 3;
            }

            @Override
            public float[][][] logits(int[][] tokens) {
                return new float[][][] {{{0f, 2f, 2f}, {5f, -1f, 4f}}};
            }
        };
        assertThat(model.predict(new int[][] {{1, 2}})).isDeepEqualTo(new int[][] {{1, 0}});
    }

    @Test
    void aModelAnsweringTheWrongNumberOfPredictionsIsAnError() {
        MqarDataset data = MqarGenerator.generate(MqarConfig.of(100, 32, 4), 3, SEED);
        TokenModel shortRows = tokens -> new int[tokens.length][1];
        assertThatThrownBy(() -> MqarEvaluator.evaluate(shortRows, data))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("predict");
    }

    @Test
    void refusesANonPositiveBatch() {
        MqarDataset data = MqarGenerator.generate(MqarConfig.of(100, 32, 4), 3, SEED);
        assertThatThrownBy(() -> MqarEvaluator.evaluate(new ExactLookup(), data, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batchSize");
    }
}
