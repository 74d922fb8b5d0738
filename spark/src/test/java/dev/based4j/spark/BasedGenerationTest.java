package dev.based4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.model.BasedModel;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.model.TextTokenizer;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class BasedGenerationTest {
    static final SparkSession SPARK = LocalSpark.session();
    static final List<int[]> PROMPTS = TinyCheckpoints.randomPrompts(11, 24, 40, 100);
    static final ModelSpec F64 = ModelSpec.at(TinyCheckpoints.ids().toString()).onBackend("cpu").withWeightFormat("f64");
    static final ModelSpec F32 = F64.withWeightFormat("f32");
    static final BasedGeneration SAMPLED = BasedGeneration.of(F64).withMaxTokens(6).withTemperature(0.8).withTopK(30)
            .withSeedColumn("seed");

    /** @return generated ids by row id; fails the test on a row with an error */
    static Map<Long, List<Integer>> idsById(Dataset<Row> out) {
        Map<Long, List<Integer>> byId = new TreeMap<>();
        for (Row r : out.select("id", "generation.ids", "generation_error").collectAsList()) {
            assertThat(r.<String>getAs("generation_error")).as("error of row %d", r.getLong(0)).isNull();
            byId.put(r.getLong(0), r.getList(1));
        }
        return byId;
    }

    /** @return what {@link Generator} produces for each prompt alone, with the options and seed of its row */
    static Map<Long, List<Integer>> aloneInThisJvm(DType dtype, GenerationOptions options) {
        Map<Long, List<Integer>> byId = new TreeMap<>();
        try (Backend cpu = Backends.select("cpu"); BasedModel m = BasedModel.load(TinyCheckpoints.ids(), cpu, dtype)) {
            for (int i = 0; i < PROMPTS.size(); i++) {
                int[] ids = new Generator(m).generate(PROMPTS.get(i), options.withSeed(1000L + i), null, null).tokens()
                        .get(0);
                byId.put((long) i, LocalSpark.boxed(ids));
            }
        }
        return byId;
    }

    @Nested
    class Transform {
        @Test
        void keepsTheInputColumnsAndAddsTheResultAndErrorColumns() {
            Dataset<Row> out = SAMPLED.transform(LocalSpark.prompts(SPARK, PROMPTS, 2));
            assertThat(out.schema().fieldNames()).containsExactly("id", "prompt", "seed", "generation",
                    "generation_error");
            assertThat(out.schema().apply("generation").dataType()).isEqualTo(BasedGeneration.RESULT_TYPE);
            Row first = out.where("id = 0").first();
            Row g = first.getStruct(3);
            assertThat(g.<String>getAs("stop_reason")).isEqualTo("max_tokens");
            assertThat(g.<Integer>getAs("prompt_tokens")).isEqualTo(PROMPTS.get(0).length);
            assertThat(g.<Integer>getAs("generated_tokens")).isEqualTo(6);
            assertThat(g.<String>getAs("text")).as("no tokenizer in the folder").isNull();
        }

        @Test
        void everyRowEqualsTheGeneratorRunningItsPromptAloneWithItsSeed() {
            GenerationOptions options = new GenerationOptions(6, 0.8, 30, 1, 0, Set.of());
            assertThat(idsById(SAMPLED.transform(LocalSpark.prompts(SPARK, PROMPTS, 3))))
                    .isEqualTo(aloneInThisJvm(DType.F64, options));
        }

        @Test
        void resultsDoNotDependOnPartitioningOrBatchSizeInFloat64() {
            Map<Long, List<Integer>> one = idsById(SAMPLED.withBatchSize(24).transform(LocalSpark.prompts(SPARK,
                    PROMPTS, 1)));
            Map<Long, List<Integer>> five = idsById(SAMPLED.withBatchSize(3).transform(LocalSpark.prompts(SPARK,
                    PROMPTS, 5)));
            assertThat(five).isEqualTo(one);
        }

        @Test
        void float32ResultsRepeatExactlyForTheSamePartitioning() {
            BasedGeneration f32 = SAMPLED.withModel(F32);
            assertThat(idsById(f32.transform(LocalSpark.prompts(SPARK, PROMPTS, 3))))
                    .isEqualTo(idsById(f32.transform(LocalSpark.prompts(SPARK, PROMPTS, 3))));
        }

        @Test
        void withoutASeedColumnEqualPromptsDrawEqualContinuationsFromTheDerivedSeed() {
            List<int[]> same = List.of(PROMPTS.get(2), PROMPTS.get(2).clone(), PROMPTS.get(4));
            Map<Long, List<Integer>> out = idsById(SAMPLED.withSeedColumn(null).withSeed(9).transform(
                    LocalSpark.prompts(SPARK, same, 2)));
            assertThat(out.get(0L)).isEqualTo(out.get(1L));
            try (Backend cpu = Backends.select("cpu");
                    BasedModel m = BasedModel.load(TinyCheckpoints.ids(), cpu, DType.F64)) {
                long seed = BasedGeneration.rowSeed(9, PROMPTS.get(4));
                int[] alone = new Generator(m).generate(PROMPTS.get(4), new GenerationOptions(6, 0.8, 30, 1, seed,
                        Set.of()), null, null).tokens().get(0);
                assertThat(out.get(2L)).isEqualTo(LocalSpark.boxed(alone));
            }
        }

        @Test
        void aFolderWithATokenizerTakesTextAndReturnsText() {
            ModelSpec text = ModelSpec.at(TinyCheckpoints.text().toString()).onBackend("cpu");
            StructType schema = new StructType().add("prompt", DataTypes.StringType);
            Dataset<Row> in = LocalSpark.rows(SPARK, List.of(RowFactory.create("hello"), RowFactory.create("the end")),
                    schema, 1);
            List<Row> out = BasedGeneration.of(text).withMaxTokens(5).withStopTokens(Set.of()).transform(in)
                    .collectAsList();
            try (Backend cpu = Backends.select("cpu");
                    BasedModel m = BasedModel.load(TinyCheckpoints.text(), cpu, DType.F32);
                    TextTokenizer tokenizer = TextTokenizer.load(TinyCheckpoints.text())) {
                int[] expected = new Generator(m).generate(tokenizer.encode("hello"), GenerationOptions.greedy(5),
                        null, null).tokens().get(0);
                Row g = out.get(0).getStruct(1);
                assertThat(g.getList(0)).isEqualTo(LocalSpark.boxed(expected));
                assertThat(g.<String>getAs("text")).isEqualTo(tokenizer.decode(expected));
                assertThat(g.<Integer>getAs("prompt_tokens")).as("'he' is one token").isEqualTo(4);
            }
        }
    }

    @Nested
    class BadRows {
        static final StructType SCHEMA = LocalSpark.ID_PROMPTS;

        static List<Row> rows() {
            List<Row> rows = new ArrayList<>();
            rows.add(RowFactory.create(0L, LocalSpark.seq(LocalSpark.boxed(PROMPTS.get(0))), 1L));
            rows.add(RowFactory.create(1L, null, 1L));
            rows.add(RowFactory.create(2L, LocalSpark.seq(List.of()), 1L));
            rows.add(RowFactory.create(3L, LocalSpark.seq(List.of(5, 100, 7)), 1L));
            rows.add(RowFactory.create(4L, LocalSpark.seq(Arrays.asList(5, null)), 1L));
            rows.add(RowFactory.create(5L, LocalSpark.seq(List.of(5, -1)), 1L));
            rows.add(RowFactory.create(6L, LocalSpark.seq(LocalSpark.boxed(PROMPTS.get(1))), null));
            rows.add(RowFactory.create(7L, LocalSpark.seq(LocalSpark.boxed(PROMPTS.get(1))), 2L));
            return rows;
        }

        @Test
        void getANullResultAndAnErrorNamingTheProblemWhileTheOtherRowsAreGenerated() {
            Map<Long, Row> out = new TreeMap<>();
            for (Row r : SAMPLED.transform(LocalSpark.rows(SPARK, rows(), SCHEMA, 2)).collectAsList()) {
                out.put(r.getLong(0), r);
            }
            assertThat(out.get(1L).<String>getAs("generation_error")).contains("prompt: null");
            assertThat(out.get(2L).<String>getAs("generation_error")).contains("prompt: empty");
            assertThat(out.get(3L).<String>getAs("generation_error"))
                    .isEqualTo("prompt: id 100 at position 1 is outside the vocabulary [0, 100)");
            assertThat(out.get(4L).<String>getAs("generation_error")).contains("element 1 is null");
            assertThat(out.get(5L).<String>getAs("generation_error")).contains("id -1 at position 1");
            assertThat(out.get(6L).<String>getAs("generation_error")).contains("seed: null in column 'seed'");
            for (long bad = 1; bad <= 6; bad++) {
                assertThat(out.get(bad).<Row>getAs("generation")).as("row %d", bad).isNull();
            }
            for (long good : new long[] {0, 7}) {
                assertThat(out.get(good).<String>getAs("generation_error")).isNull();
                assertThat(out.get(good).<Row>getAs("generation").getList(0)).hasSize(6);
            }
        }

        @Test
        void failTheJobInStrictModeWithTheProblemAsTheCause() {
            Dataset<Row> out = SAMPLED.withStrict(true).transform(LocalSpark.rows(SPARK, rows().subList(2, 4), SCHEMA,
                    1));
            assertThatThrownBy(out::collectAsList).isInstanceOf(SparkException.class)
                    .hasMessageContaining("BadRowException")
                    .hasMessageContaining("partition 0, row 0: prompt: empty");
        }

        @Test
        void longerThanMaxPromptTokensIsARowError() {
            Row r = SAMPLED.withMaxPromptTokens(3).transform(LocalSpark.rows(SPARK,
                    List.of(RowFactory.create(0L, LocalSpark.seq(List.of(1, 2, 3, 4)), 1L)), SCHEMA, 1)).first();
            assertThat(r.<String>getAs("generation_error")).isEqualTo(
                    "prompt: 4 token ids, more than maxPromptTokens 3");
        }
    }

    @Nested
    class Sql {
        @Test
        void theRegisteredFunctionGivesTheTransformsResultsOneRowAtATime() {
            SAMPLED.registerSeeded(SPARK, "based_generate");
            LocalSpark.prompts(SPARK, PROMPTS.subList(0, 6), 2).createOrReplaceTempView("prompts");
            Map<Long, List<Integer>> sql = new TreeMap<>();
            for (Row r : SPARK.sql("SELECT id, based_generate(prompt, seed) AS g FROM prompts").collectAsList()) {
                assertThat(r.getStruct(1).<String>getAs("error")).isNull();
                sql.put(r.getLong(0), r.getStruct(1).getList(0));
            }
            Map<Long, List<Integer>> transformed = idsById(SAMPLED.transform(LocalSpark.prompts(SPARK,
                    PROMPTS.subList(0, 6), 2)));
            assertThat(sql).isEqualTo(transformed);
        }

        @Test
        void aBadPromptGivesTheErrorFieldAndNullResults() {
            BasedGeneration.of(F32).register(SPARK, "based_generate_one");
            Row g = SPARK.sql("SELECT based_generate_one(array(1, 200)) AS g").first().getStruct(0);
            assertThat(g.<String>getAs("error")).isEqualTo("prompt: id 200 at position 1 is outside the vocabulary"
                    + " [0, 100)");
            assertThat(g.<Object>getAs("ids")).isNull();
        }
    }

    @Nested
    class Validation {
        Dataset<Row> input() {
            return LocalSpark.prompts(SPARK, PROMPTS.subList(0, 2), 1);
        }

        @Test
        void aMissingInputColumnIsNamed() {
            assertThatThrownBy(() -> SAMPLED.withInputColumn("text").transform(input()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("inputColumn: no column 'text' in the input [id, prompt, seed]");
        }

        @Test
        void anInputColumnOfAnotherTypeIsNamedWithTheTypesExpected() {
            assertThatThrownBy(() -> SAMPLED.withInputColumn("id").transform(input()))
                    .hasMessageStartingWith("inputColumn: 'id' is bigint; expected string");
        }

        @Test
        void anOutputColumnThatExistsIsRefused() {
            assertThatThrownBy(() -> SAMPLED.withOutputColumn("seed").transform(input()))
                    .hasMessageStartingWith("outputColumn: column 'seed' already exists");
        }

        @Test
        void samplingOptionsAreValidatedWhenSet() {
            assertThatThrownBy(() -> SAMPLED.withTopP(1.5)).hasMessage("topP: expected a value in (0, 1], got 1.5");
            assertThatThrownBy(() -> SAMPLED.withBatchSize(0)).hasMessage("batchSize: expected >= 1 rows, got 0");
            assertThatThrownBy(() -> F32.withWeightFormat("bf16")).hasMessage(
                    "weightFormat: expected f32 or f64, got bf16");
            assertThatThrownBy(() -> F32.withWeights("q4")).hasMessageStartingWith("weights: ")
                    .hasMessageContaining("q4").hasMessageEndingWith("(weightFormat f32)");
            assertThat(F32.withWeights("int8-g32").storedWeights()).isEqualTo(WeightFormat.int8(32));
            assertThat(F32.withWeights("bf16").toString()).endsWith("(cpu, f32, bf16 weights)");
        }

        @Test
        void aModelFolderFoundNowhereFailsTheTaskNamingWhereItLooked() {
            Dataset<Row> out = BasedGeneration.of(ModelSpec.at("/nonexistent/based")).transform(input());
            assertThatThrownBy(out::collectAsList).hasMessageContaining(
                    "model path '/nonexistent/based': no such folder on this executor; looked at /nonexistent/based");
        }
    }
}
