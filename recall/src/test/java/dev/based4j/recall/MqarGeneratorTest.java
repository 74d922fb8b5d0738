package dev.based4j.recall;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class MqarGeneratorTest {
    private static final long SEED = 20240229L;
    private static final MqarConfig PAPER_LIKE = MqarConfig.of(8192, 256, 64);
    private static final MqarConfig SMALL = MqarConfig.of(300, 128, 16);

    @Nested
    class Config {
        @Test
        void refusesAVocabularyNoLargerThanTheSequence() {
            assertThatThrownBy(() -> MqarConfig.of(256, 256, 8))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("vocabSize").hasMessageContaining("256");
        }

        @Test
        void refusesMorePairsThanAQuarterOfTheSequence() {
            assertThatThrownBy(() -> MqarConfig.of(1000, 64, 17))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("numKvPairs").hasMessageContaining("17");
        }

        @Test
        void acceptsExactlyAQuarter() {
            assertThat(MqarConfig.of(1000, 64, 16).querySpace()).isEqualTo(16);
        }

        @Test
        void refusesAnOddSequenceLength() {
            assertThatThrownBy(() -> MqarConfig.of(1000, 63, 4)).hasMessageContaining("seqLen");
        }

        @Test
        void refusesAPowerOutsideZeroToOne() {
            assertThatThrownBy(() -> new MqarConfig(1000, 64, 4, 0, true)).hasMessageContaining("powerA");
        }

        @Test
        void splitsTheVocabularyInKeysAndValues() {
            assertThat(PAPER_LIKE.isKey(0)).as("0 is the filler").isFalse();
            assertThat(PAPER_LIKE.isKey(1)).isTrue();
            assertThat(PAPER_LIKE.isKey(4095)).isTrue();
            assertThat(PAPER_LIKE.isValue(4096)).isTrue();
            assertThat(PAPER_LIKE.isValue(8191)).isTrue();
            assertThat(PAPER_LIKE.isValue(8192)).isFalse();
        }
    }

    @Nested
    class Layout {
        @Test
        void contextHoldsDistinctKeysEachFollowedByItsValue() {
            MqarDataset data = MqarGenerator.generate(PAPER_LIKE, 50, SEED);
            for (int e = 0; e < data.size(); e++) {
                int[] x = data.inputs(e);
                int[] keys = data.keys(e);
                int[] values = data.values(e);
                assertThat(Arrays.stream(keys).distinct().count()).as("distinct keys, example %d seed %d", e, SEED)
                        .isEqualTo(64);
                assertThat(Arrays.stream(values).distinct().count()).as("distinct values, example %d", e)
                        .isEqualTo(64);
                for (int i = 0; i < 64; i++) {
                    assertThat(PAPER_LIKE.isKey(keys[i])).as("key %d in [1, V/2)", keys[i]).isTrue();
                    assertThat(PAPER_LIKE.isValue(values[i])).as("value %d in [V/2, V)", values[i]).isTrue();
                    assertThat(x[2 * i]).isEqualTo(keys[i]);
                    assertThat(x[2 * i + 1]).isEqualTo(values[i]);
                }
            }
        }

        @Test
        void eachQueryKeyAppearsExactlyOnceInTheContext() {
            MqarDataset data = MqarGenerator.generate(PAPER_LIKE, 50, SEED);
            int context = PAPER_LIKE.contextLength();
            for (int e = 0; e < data.size(); e++) {
                int[] x = data.inputs(e);
                int[] y = data.labels(e);
                for (int t : MqarEvaluator.labelledPositions(y)) {
                    int key = x[t];
                    long inContext = Arrays.stream(x, 0, context).filter(tok -> tok == key).count();
                    assertThat(inContext).as("occurrences of query key %d (position %d, example %d, seed %d) in "
                            + "the context", key, t, e, SEED).isEqualTo(1);
                }
            }
        }

        @Test
        void labelsPointAtTheValueThatFollowsTheKeyInTheContext() {
            MqarDataset data = MqarGenerator.generate(PAPER_LIKE, 50, SEED);
            int context = PAPER_LIKE.contextLength();
            for (int e = 0; e < data.size(); e++) {
                int[] x = data.inputs(e);
                int[] y = data.labels(e);
                int[] labelled = MqarEvaluator.labelledPositions(y);
                assertThat(labelled).as("one label per pair, example %d", e).hasSize(64);
                for (int t : labelled) {
                    int at = -1;
                    for (int c = 0; c < context; c += 2) {
                        if (x[c] == x[t]) {
                            at = c;
                        }
                    }
                    assertThat(y[t]).as("label at %d, example %d, seed %d", t, e, SEED).isEqualTo(x[at + 1]);
                }
            }
        }

        @Test
        void queriesSitAtEvenOffsetsOfTheQueryRegionAtDistinctGaps() {
            MqarDataset data = MqarGenerator.generate(SMALL, 200, SEED);
            for (int e = 0; e < data.size(); e++) {
                int[] gaps = data.gaps(e);
                assertThat(Arrays.stream(gaps).distinct().count()).as("distinct gaps, example %d", e).isEqualTo(16);
                assertThat(Arrays.stream(gaps).boxed().toList()).allSatisfy(g -> assertThat(g).isBetween(0, SMALL.querySpace() - 1));
                int[] x = data.inputs(e);
                int[] keys = data.keys(e);
                for (int i = 0; i < 16; i++) {
                    int q = data.queryPosition(e, i);
                    assertThat((q - SMALL.contextLength()) % 2).isZero();
                    assertThat(x[q]).as("query of pair %d, example %d", i, e).isEqualTo(keys[i]);
                }
            }
        }

        @Test
        void labelsAreIgnoredEverywhereButAtQueries() {
            MqarDataset data = MqarGenerator.generate(SMALL, 20, SEED);
            for (int e = 0; e < data.size(); e++) {
                Set<Integer> queries = new HashSet<>();
                for (int i = 0; i < 16; i++) {
                    queries.add(data.queryPosition(e, i));
                }
                int[] y = data.labels(e);
                for (int t = 0; t < y.length; t++) {
                    if (!queries.contains(t)) {
                        assertThat(y[t]).as("label at non-query position %d", t).isEqualTo(MqarDataset.IGNORE);
                    }
                }
            }
        }

        @Test
        void withoutRandomFillersEveryOtherTokenIsZero() {
            MqarConfig zeros = new MqarConfig(300, 128, 16, 0.01, false);
            MqarDataset data = MqarGenerator.generate(zeros, 20, SEED);
            for (int e = 0; e < data.size(); e++) {
                int[] x = data.inputs(e);
                long nonZeroAfterContext = Arrays.stream(x, 32, 128).filter(t -> t != 0).count();
                assertThat(nonZeroAfterContext).as("non-zero tokens after the context = queries").isEqualTo(16);
            }
        }

        @Test
        void randomFillersCoverTheWholeVocabulary() {
            MqarDataset data = MqarGenerator.generate(SMALL, 500, SEED);
            Set<Integer> fillers = new HashSet<>();
            long zeros = 0;
            long count = 0;
            for (int e = 0; e < data.size(); e++) {
                int[] x = data.inputs(e);
                int[] y = data.labels(e);
                for (int t = SMALL.contextLength(); t < x.length; t++) {
                    if (y[t] == MqarDataset.IGNORE) {
                        assertThat(x[t]).isBetween(0, 299);
                        fillers.add(x[t]);
                        zeros += x[t] == 0 ? 1 : 0;
                        count++;
                    }
                }
            }
            assertThat(fillers).as("distinct filler tokens over %d fillers", count).hasSize(300);
            // a filler is 0 with probability 1/V
            double expected = count / 300.0;
            assertThat((double) zeros).as("fillers equal to 0").isBetween(expected - 5 * Math.sqrt(expected),
                    expected + 5 * Math.sqrt(expected));
        }
    }

    @Nested
    class Seeds {
        @Test
        void theSameSeedGivesTheSameData() {
            MqarDataset a = MqarGenerator.generate(SMALL, 10, SEED);
            MqarDataset b = MqarGenerator.generate(SMALL, 10, SEED);
            for (int e = 0; e < 10; e++) {
                assertThat(a.inputs(e)).isEqualTo(b.inputs(e));
                assertThat(a.labels(e)).isEqualTo(b.labels(e));
            }
        }

        @Test
        void anotherSeedGivesOtherData() {
            MqarDataset a = MqarGenerator.generate(SMALL, 10, SEED);
            MqarDataset b = MqarGenerator.generate(SMALL, 10, SEED + 1);
            assertThat(a.inputs(0)).isNotEqualTo(b.inputs(0));
        }

        @Test
        void trainAndTestSeedsComeFromDisjointHalves() {
            long[] train = MqarSeeds.segmentSeeds(MqarSeeds.DEFAULT_MASTER_SEED, MqarSeeds.Split.TRAIN, 100);
            long[] test = MqarSeeds.segmentSeeds(MqarSeeds.DEFAULT_MASTER_SEED, MqarSeeds.Split.TEST, 100);
            assertThat(Arrays.stream(train).boxed().toList()).allSatisfy(s -> assertThat(s).isBetween(0L, MqarSeeds.MAX_SEED / 2 - 1));
            assertThat(Arrays.stream(test).boxed().toList()).allSatisfy(s -> assertThat(s).isBetween(MqarSeeds.MAX_SEED / 2, MqarSeeds.MAX_SEED - 1));
            assertThat(Arrays.stream(train).distinct().count()).isEqualTo(100);
        }

        @Test
        void segmentSeedsAreReproducibleAndPrefixStable() {
            long[] five = MqarSeeds.segmentSeeds(7, MqarSeeds.Split.TEST, 5);
            long[] three = MqarSeeds.segmentSeeds(7, MqarSeeds.Split.TEST, 3);
            assertThat(Arrays.copyOf(five, 3)).isEqualTo(three);
        }
    }

    @Nested
    class GapDistribution {
        // V=1000, L=256, N=4: 124 gaps; 20,000 examples give a sharp chi-square test
        private static final MqarConfig CONFIG = MqarConfig.of(1000, 256, 4);
        private static final int EXAMPLES = 20_000;

        @Test
        void theFirstDrawnGapFollowsThePowerLaw() {
            MqarDataset data = MqarGenerator.generate(CONFIG, EXAMPLES, SEED);
            long[] counts = new long[CONFIG.querySpace()];
            for (int e = 0; e < EXAMPLES; e++) {
                counts[data.gaps(e)[0]]++;
            }
            double[] p = CONFIG.gapProbabilities();
            ChiSquare test = ChiSquare.of(counts, p);
            assertThat(test.statistic()).as("chi-square of the first gap vs a(g+1)^(a-1), df %d, seed %d",
                    test.degreesOfFreedom(), SEED).isLessThan(test.criticalValue0001());
        }

        @Test
        void theSecondDrawnGapFollowsThePowerLawRenormalisedOverTheFreeGaps() {
            MqarDataset data = MqarGenerator.generate(CONFIG, EXAMPLES, SEED + 1);
            long[] counts = new long[CONFIG.querySpace()];
            for (int e = 0; e < EXAMPLES; e++) {
                counts[data.gaps(e)[1]]++;
            }
            double[] p = CONFIG.gapProbabilities();
            // P(second = j) = Σ_{i≠j} p_i · p_j / (1 - p_i)
            double[] second = new double[p.length];
            for (int j = 0; j < p.length; j++) {
                for (int i = 0; i < p.length; i++) {
                    if (i != j) {
                        second[j] += p[i] * p[j] / (1 - p[i]);
                    }
                }
            }
            ChiSquare test = ChiSquare.of(counts, second);
            assertThat(test.statistic()).as("chi-square of the second gap, df %d, seed %d", test.degreesOfFreedom(),
                    SEED + 1).isLessThan(test.criticalValue0001());
        }

        @Test
        void theTestRejectsUniformlyPlacedQueries() {
            MqarConfig uniform = new MqarConfig(1000, 256, 4, 1.0, true);
            MqarDataset data = MqarGenerator.generate(uniform, EXAMPLES, SEED);
            long[] counts = new long[CONFIG.querySpace()];
            for (int e = 0; e < EXAMPLES; e++) {
                counts[data.gaps(e)[0]]++;
            }
            ChiSquare test = ChiSquare.of(counts, CONFIG.gapProbabilities());
            assertThat(test.statistic()).as("chi-square of uniform gaps vs the power law").isGreaterThan(
                    10 * test.criticalValue0001());
        }

        @Test
        void smallGapsAreFavoured() {
            double[] p = CONFIG.gapProbabilities();
            assertThat(p[0]).isGreaterThan(p[1]);
            assertThat(p[0] / p[9]).as("P(0)/P(9) = 10^0.99").isCloseTo(Math.pow(10, 0.99), org.assertj.core.data.Offset.offset(1e-9));
        }
    }

    /** Pearson's chi-square goodness of fit, with bins of expected count below 5 merged into their neighbour. */
    record ChiSquare(double statistic, int degreesOfFreedom) {
        static ChiSquare of(long[] counts, double[] p) {
            long n = Arrays.stream(counts).sum();
            double stat = 0;
            int bins = 0;
            double expected = 0;
            double observed = 0;
            for (int g = 0; g < counts.length; g++) {
                expected += p[g] * n;
                observed += counts[g];
                if (expected >= 5 || g == counts.length - 1) {
                    stat += (observed - expected) * (observed - expected) / expected;
                    bins++;
                    expected = 0;
                    observed = 0;
                }
            }
            return new ChiSquare(stat, bins - 1);
        }

        /** Upper 0.1 % point, Wilson–Hilferty approximation (z = 3.0902). */
        double criticalValue0001() {
            double k = degreesOfFreedom;
            double c = 2.0 / (9 * k);
            return k * Math.pow(1 - c + 3.0902 * Math.sqrt(c), 3);
        }
    }
}
