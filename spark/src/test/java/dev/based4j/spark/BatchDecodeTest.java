package dev.based4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.model.BasedModel;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchDecodeTest {
    static final long PROMPT_SEED = 42;
    static final GenerationOptions SAMPLED = new GenerationOptions(12, 0.9, 20, 0.95, 0, Set.of());
    static final BatchDecode.Interruption NEVER = () -> {};

    Backend cpu;
    BasedModel f64;
    BasedModel f32;
    /** lengths 1..70: single tokens, equal lengths that share a state, and prompts longer than one prefill chunk */
    List<int[]> prompts;
    long[] seeds;

    @BeforeAll
    void load() {
        cpu = Backends.select("cpu");
        f64 = BasedModel.load(TinyCheckpoints.ids(), cpu, DType.F64);
        f32 = BasedModel.load(TinyCheckpoints.ids(), cpu, DType.F32);
        prompts = new ArrayList<>(TinyCheckpoints.randomPrompts(PROMPT_SEED, 20, 70, 100));
        prompts.add(prompts.get(3).clone());
        prompts.add(new Random(1).ints(prompts.get(3).length, 0, 100).toArray());
        seeds = new Random(PROMPT_SEED).longs(prompts.size()).toArray();
    }

    @AfterAll
    void close() {
        f64.close();
        f32.close();
        cpu.close();
    }

    static int[] tokens(BatchDecode.Generated g) {
        assertThat(g).isInstanceOf(BatchDecode.Generated.Tokens.class);
        return ((BatchDecode.Generated.Tokens) g).ids();
    }

    @Nested
    class Generation {
        @Test
        void eachSampledRowOfAMixedBatchEqualsTheGeneratorRunningItAloneWithItsSeed() {
            List<BatchDecode.Generated> batched = BatchDecode.generate(f64, prompts, seeds, SAMPLED, NEVER);
            for (int i = 0; i < prompts.size(); i++) {
                int[] alone = new Generator(f64).generate(prompts.get(i), SAMPLED.withSeed(seeds[i]), null, null)
                        .tokens().get(0);
                assertThat(tokens(batched.get(i))).as("row %d (prompt seed %d), f64", i, PROMPT_SEED)
                        .containsExactly(alone);
            }
        }

        @Test
        void greedyRowsEqualTheGeneratorAloneToo() {
            GenerationOptions greedy = GenerationOptions.greedy(10);
            List<BatchDecode.Generated> batched = BatchDecode.generate(f64, prompts, seeds, greedy, NEVER);
            for (int i = 0; i < prompts.size(); i++) {
                int[] alone = new Generator(f64).generate(prompts.get(i), greedy, null, null).tokens().get(0);
                assertThat(tokens(batched.get(i))).as("row %d, f64 greedy", i).containsExactly(alone);
            }
        }

        @Test
        void aRowsTokensDoNotDependOnTheRowsBatchedWithItInFloat64() {
            List<BatchDecode.Generated> all = BatchDecode.generate(f64, prompts, seeds, SAMPLED, NEVER);
            List<int[]> half = prompts.subList(0, prompts.size() / 2);
            List<BatchDecode.Generated> part = BatchDecode.generate(f64, half, java.util.Arrays.copyOf(seeds,
                    half.size()), SAMPLED, NEVER);
            for (int i = 0; i < half.size(); i++) {
                assertThat(tokens(part.get(i))).as("row %d", i).containsExactly(tokens(all.get(i)));
            }
        }

        @Test
        void theGeneratorsOwnBatchApiDrawsSequenceIFromSeedPlusIWhichIsWhyPartitionsDoNotUseIt() {
            // a row's samples would depend on its place in the batch: row i gets seed + i, not its own seed
            List<int[]> two = List.of(prompts.get(0), prompts.get(1));
            Generator.Result batch = new Generator(f64).generate(two, SAMPLED.withSeed(500), null, null);
            int[] secondAloneWithSeed501 = new Generator(f64).generate(prompts.get(1), SAMPLED.withSeed(501), null,
                    null).tokens().get(0);
            assertThat(batch.tokens().get(1)).containsExactly(secondAloneWithSeed501);
        }

        @Test
        void aRowEndsAtAStopTokenWhichIsPartOfItsOutput() {
            int[] free = tokens(BatchDecode.generate(f64, List.of(prompts.get(5)), new long[] {1},
                    GenerationOptions.greedy(8), NEVER).get(0));
            GenerationOptions stopAtThird = GenerationOptions.greedy(8).withStopTokens(Set.of(free[2]));
            BatchDecode.Generated g = BatchDecode.generate(f64, List.of(prompts.get(5)), new long[] {1}, stopAtThird,
                    NEVER).get(0);
            int firstStop = 0;
            while (free[firstStop] != free[2]) {
                firstStop++;
            }
            assertThat(tokens(g)).containsExactly(java.util.Arrays.copyOf(free, firstStop + 1));
            assertThat(((BatchDecode.Generated.Tokens) g).reason()).isEqualTo(Generator.StopReason.STOP_TOKEN);
        }
    }

    @Nested
    class Scoring {
        /** Σ log softmax over [0, vocab) of one prefill's float64 logits, computed here in plain loops. */
        double reference(int[] ids) {
            HostTensor logits = f64.logits(ids, 1, ids.length);
            int padded = f64.config().paddedVocabSize();
            int vocab = f64.config().vocabSize();
            double sum = 0;
            for (int t = 0; t + 1 < ids.length; t++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < vocab; v++) {
                    max = Math.max(max, logits.getDouble((long) t * padded + v));
                }
                double z = 0;
                for (int v = 0; v < vocab; v++) {
                    z += Math.exp(logits.getDouble((long) t * padded + v) - max);
                }
                sum += logits.getDouble((long) t * padded + ids[t + 1]) - max - Math.log(z);
            }
            return sum;
        }

        List<int[]> scorable() {
            return prompts.stream().filter(p -> p.length >= 2).toList();
        }

        @Test
        void float64ScoresEqualTheFloat64ReferenceToRounding() {
            List<BatchDecode.Scored> scored = BatchDecode.score(f64, scorable(), NEVER);
            for (int i = 0; i < scorable().size(); i++) {
                double ref = reference(scorable().get(i));
                BatchDecode.Scored.Score s = (BatchDecode.Scored.Score) scored.get(i);
                assertThat(Math.abs(s.logLikelihood() - ref) / Math.max(1, Math.abs(ref)))
                        .as("row %d relative error vs float64 reference (%f)", i, ref).isLessThan(1e-9);
                assertThat(s.scoredTokens()).isEqualTo(scorable().get(i).length - 1);
            }
        }

        @Test
        void float32ScoresAreWithinTheFloat32ToleranceOfTheFloat64Reference() {
            List<BatchDecode.Scored> scored = BatchDecode.score(f32, scorable(), NEVER);
            for (int i = 0; i < scorable().size(); i++) {
                double ref = reference(scorable().get(i));
                double got = ((BatchDecode.Scored.Score) scored.get(i)).logLikelihood();
                assertThat(Math.abs(got - ref) / Math.max(1, Math.abs(ref)))
                        .as("row %d relative error vs float64 reference (%f)", i, ref).isLessThan(1e-4);
            }
        }

        @Test
        void aRowsFloat32ScoreInAnotherBatchDiffersOnlyByRounding() {
            List<BatchDecode.Scored> batched = BatchDecode.score(f32, scorable(), NEVER);
            for (int i = 0; i < scorable().size(); i++) {
                double alone = ((BatchDecode.Scored.Score) BatchDecode.score(f32, List.of(scorable().get(i)), NEVER)
                        .get(0)).logLikelihood();
                double got = ((BatchDecode.Scored.Score) batched.get(i)).logLikelihood();
                assertThat(Math.abs(got - alone) / Math.max(1, Math.abs(alone))).as("row %d", i).isLessThan(1e-5);
            }
        }
    }
}
