package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SamplerTest {
    static float[] logits(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) (r.nextDouble() * 6 - 3);
        }
        return l;
    }

    static int argmax(float[] l, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void greedyTakesTheLargestLogitOfTheRealVocabulary() {
        float[] l = logits(1, 104);
        l[103] = 100; // a padded id: never chosen
        Sampler s = new Sampler(GenerationOptions.greedy(1), 100);
        assertThat(s.sample(l, 0, null)).as("seed 1").isEqualTo(argmax(l, 100));
    }

    @Test
    void topKOneAndTinyTopPAreGreedy() {
        float[] l = logits(2, 100);
        GenerationOptions o = GenerationOptions.greedy(1).withTemperature(1.5);
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 20; i++) {
            assertThat(new Sampler(o.withTopK(1), 100).sample(l, 0, r)).as("seed 2, draw %d", i).isEqualTo(argmax(l, 100));
            assertThat(new Sampler(o.withTopP(1e-9), 100).sample(l, 0, r)).as("seed 2, draw %d", i)
                    .isEqualTo(argmax(l, 100));
        }
    }

    @Test
    void paddedIdsAreNeverDrawn() {
        float[] l = new float[16];
        l[12] = 50;
        Sampler s = new Sampler(GenerationOptions.greedy(1).withTemperature(1), 10);
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 200; i++) {
            assertThat(s.sample(l, 0, r)).as("seed 3, draw %d", i).isLessThan(10);
        }
    }

    @Test
    void topKKeepsOnlyTheKLargest() {
        float[] l = logits(4, 50);
        Sampler s = new Sampler(GenerationOptions.greedy(1).withTemperature(5).withTopK(3), 50);
        java.util.Set<Integer> top3 = new java.util.HashSet<>();
        float[] sorted = l.clone();
        java.util.Arrays.sort(sorted);
        for (int i = 0; i < 50; i++) {
            if (l[i] >= sorted[47]) {
                top3.add(i);
            }
        }
        SplittableRandom r = new SplittableRandom(4);
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < 500; i++) {
            seen.add(s.sample(l, 0, r));
        }
        assertThat(seen).as("seed 4").isEqualTo(top3);
    }

    @Test
    void drawsFollowTheSoftmax() {
        float[] l = {0, 1, 2, (float) Math.log(0.5)};
        double[] p = new double[4];
        double z = 0;
        for (int i = 0; i < 4; i++) {
            p[i] = Math.exp(l[i]);
            z += p[i];
        }
        Sampler s = new Sampler(GenerationOptions.greedy(1).withTemperature(1), 4);
        SplittableRandom r = new SplittableRandom(5);
        int n = 40_000;
        int[] count = new int[4];
        for (int i = 0; i < n; i++) {
            count[s.sample(l, 0, r)]++;
        }
        for (int i = 0; i < 4; i++) {
            double expected = p[i] / z;
            double sigma = Math.sqrt(expected * (1 - expected) / n);
            assertThat((double) count[i] / n).as("frequency of id %d, seed 5", i)
                    .isCloseTo(expected, org.assertj.core.data.Offset.offset(5 * sigma));
        }
    }

    @Test
    void sameSeedSameDraws() {
        float[] l = logits(6, 100);
        Sampler s = new Sampler(GenerationOptions.greedy(1).withTemperature(1).withTopP(0.9), 100);
        SplittableRandom a = new SplittableRandom(6);
        SplittableRandom b = new SplittableRandom(6);
        for (int i = 0; i < 50; i++) {
            assertThat(s.sample(l, 0, a)).isEqualTo(s.sample(l, 0, b));
        }
    }

    @Test
    void nanLogitsAreAnError() {
        float[] l = new float[8];
        l[5] = Float.NaN;
        assertThatThrownBy(() -> new Sampler(GenerationOptions.greedy(1), 8).sample(l, 0, null))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("id 5 is NaN");
    }

    @Test
    void optionsNameTheBadField() {
        assertThatThrownBy(() -> GenerationOptions.greedy(0)).hasMessageContaining("maxTokens: expected >= 1, got 0");
        assertThatThrownBy(() -> GenerationOptions.greedy(1).withTopP(0)).hasMessageContaining("topP");
        assertThatThrownBy(() -> GenerationOptions.greedy(1).withTemperature(-1)).hasMessageContaining("temperature");
    }

    @Nested
    class EveryFiniteTemperature {
        @ParameterizedTest(name = "temperature {0}")
        @ValueSource(doubles = {1e-320, Double.MIN_VALUE, 1e-308, 5e-309, 1e-300, 1e-30})
        void drawsTheLargestLogitAsGreedyDoesWhenTheTemperatureIsTiny(double temperature) {
            SplittableRandom r = new SplittableRandom(21);
            for (int row = 0; row < 20; row++) {
                float[] l = logits(100 + row, 300);
                int greedy = new Sampler(GenerationOptions.greedy(1), 300).sample(l, 0, null);
                Sampler tiny = new Sampler(GenerationOptions.greedy(1).withTemperature(temperature), 300);
                assertThat(tiny.sample(l, 0, r)).as("row seed %d, temperature %s", 100 + row, temperature)
                        .isEqualTo(greedy);
            }
        }

        @Test
        void drawsOnlyAmongTiedMaximaWhenTheTemperatureIsTiny() {
            float[] l = logits(22, 50);
            l[7] = 10;
            l[31] = 10;
            Sampler s = new Sampler(GenerationOptions.greedy(1).withTemperature(1e-320), 50);
            SplittableRandom r = new SplittableRandom(22);
            java.util.Set<Integer> seen = new java.util.TreeSet<>();
            for (int i = 0; i < 200; i++) {
                seen.add(s.sample(l, 0, r));
            }
            assertThat(seen).as("seed 22: the softmax's limit is uniform over the tied maxima").containsExactly(7, 31);
        }

        @Test
        void aHugeTemperatureDrawsNearlyUniformly() {
            float[] l = logits(23, 4);
            Sampler s = new Sampler(GenerationOptions.greedy(1).withTemperature(1e300), 4);
            SplittableRandom r = new SplittableRandom(23);
            int n = 20_000;
            int[] count = new int[4];
            for (int i = 0; i < n; i++) {
                count[s.sample(l, 0, r)]++;
            }
            double sigma = Math.sqrt(0.25 * 0.75 / n);
            for (int i = 0; i < 4; i++) {
                assertThat((double) count[i] / n).as("frequency of id %d, seed 23", i)
                        .isCloseTo(0.25, org.assertj.core.data.Offset.offset(5 * sigma));
            }
        }

        @Test
        void followsTheTemperedSoftmaxWithTopP() {
            // T = 0.5 doubles the logit gaps: weights e^0, e^-2, e^-4 of the three kept ids
            float[] l = {3, 2, 1, -50};
            Sampler s = new Sampler(GenerationOptions.greedy(1).withTemperature(0.5).withTopP(0.999), 4);
            double z = 1 + Math.exp(-2) + Math.exp(-4) + Math.exp(-106);
            SplittableRandom r = new SplittableRandom(24);
            int n = 40_000;
            int[] count = new int[4];
            for (int i = 0; i < n; i++) {
                count[s.sample(l, 0, r)]++;
            }
            double[] expected = {1 / z, Math.exp(-2) / z, Math.exp(-4) / z};
            double kept = expected[0] + expected[1] + expected[2];
            for (int i = 0; i < 3; i++) {
                double e = expected[i] / kept;
                double sigma = Math.sqrt(e * (1 - e) / n);
                assertThat((double) count[i] / n).as("frequency of id %d, seed 24", i)
                        .isCloseTo(e, org.assertj.core.data.Offset.offset(5 * sigma));
            }
            assertThat(count[3]).as("id 3 is outside the top-p set").isZero();
        }
    }
}
