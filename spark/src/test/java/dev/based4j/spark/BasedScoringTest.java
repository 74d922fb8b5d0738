package dev.based4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.model.BasedModel;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class BasedScoringTest {
    static final SparkSession SPARK = LocalSpark.session();
    static final List<int[]> PROMPTS = TinyCheckpoints.randomPrompts(23, 16, 90, 100).stream()
            .filter(p -> p.length >= 2).toList();
    static final ModelSpec F32 = ModelSpec.at(TinyCheckpoints.ids().toString()).onBackend("cpu");

    /** Σ log softmax over [0, vocab) of the float64 model's logits of one whole-prompt prefill, in plain loops. */
    static double float64Reference(BasedModel f64, int[] ids) {
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

    @Nested
    class Transform {
        @Test
        void givesEachRowItsLogLikelihoodWithinFloat32ToleranceOfTheFloat64Reference() {
            Map<Long, Row> out = new TreeMap<>();
            for (Row r : BasedScoring.of(F32).withBatchSize(5).transform(LocalSpark.prompts(SPARK, PROMPTS, 3))
                    .collectAsList()) {
                assertThat(r.<String>getAs("score_error")).isNull();
                out.put(r.getLong(0), r.getAs("score"));
            }
            try (Backend cpu = Backends.select("cpu");
                    BasedModel f64 = BasedModel.load(TinyCheckpoints.ids(), cpu, DType.F64)) {
                for (int i = 0; i < PROMPTS.size(); i++) {
                    double ref = float64Reference(f64, PROMPTS.get(i));
                    Row s = out.get((long) i);
                    double ll = s.getDouble(0);
                    assertThat(Math.abs(ll - ref) / Math.max(1, Math.abs(ref)))
                            .as("row %d: relative error vs float64 reference %f (prompt seed 23)", i, ref)
                            .isLessThan(1e-4);
                    assertThat(s.getInt(1)).isEqualTo(PROMPTS.get(i).length - 1);
                    assertThat(s.getDouble(2)).isCloseTo(Math.exp(-ll / (PROMPTS.get(i).length - 1)),
                            org.assertj.core.data.Offset.offset(1e-9));
                }
            }
        }

        @Test
        void aOneTokenPromptIsARowErrorBecauseTheFirstTokenIsOnlyContext() {
            Row r = BasedScoring.of(F32).transform(LocalSpark.rows(SPARK, List.of(RowFactory.create(0L,
                    LocalSpark.seq(List.of(5)), 0L)), LocalSpark.ID_PROMPTS, 1)).first();
            assertThat(r.<Row>getAs("score")).isNull();
            assertThat(r.<String>getAs("score_error")).isEqualTo("prompt: 1 token; scoring needs at least 2 (the first"
                    + " token is the context of the second)");
        }

        @Test
        void strictModeFailsTheJobAtAnOutOfVocabularyId() {
            Dataset<Row> out = BasedScoring.of(F32).withStrict(true).transform(LocalSpark.rows(SPARK,
                    List.of(RowFactory.create(0L, LocalSpark.seq(List.of(5, 6)), 0L),
                            RowFactory.create(1L, LocalSpark.seq(List.of(5, 104)), 0L)), LocalSpark.ID_PROMPTS, 1));
            assertThatThrownBy(out::collectAsList).isInstanceOf(SparkException.class)
                    .hasMessageContaining("partition 0, row 1: prompt: id 104 at position 1 is outside the vocabulary");
        }
    }

    @Nested
    class Sql {
        @Test
        void theRegisteredFunctionScoresTextWithTheFoldersTokenizer() {
            BasedScoring.of(ModelSpec.at(TinyCheckpoints.text().toString())).register(SPARK, "based_score");
            Row s = SPARK.sql("SELECT based_score('hello there') AS s").first().getStruct(0);
            assertThat(s.<String>getAs("error")).isNull();
            assertThat(s.<Integer>getAs("scored_tokens")).as("'he' is one token: he,l,l,o, ,t,he,r,e").isEqualTo(8);
            assertThat(s.<Double>getAs("log_likelihood")).isNegative();
        }
    }
}
