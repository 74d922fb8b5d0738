package dev.based4j.spark;

import java.io.Serial;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;

/** The SQL functions {@link BasedGeneration#register} and {@link BasedGeneration#registerSeeded} install. */
final class GenerationFunction {
    private GenerationFunction() {}

    static Row call(BasedGeneration config, Object prompt, List<Object> seed) {
        LoadedModel model = ExecutorModels.get(config.model());
        Results.Outcome outcome = GenerationTask.run(config, model, config.options(model.model().config().eosTokenId()),
                Arrays.asList(prompt), seed, i -> {
                    int p = Columns.partition();
                    return p >= 0 ? "partition " + p : "row";
                }, Columns.interruption()).get(0);
        return Results.flattened(outcome, BasedGeneration.RESULT_TYPE.size());
    }

    /** {@code name(prompt)}. */
    record OneArgument(BasedGeneration config) implements UDF1<Object, Row> {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public Row call(Object prompt) {
            return GenerationFunction.call(config, prompt, null);
        }
    }

    /** {@code name(prompt, seed)}. */
    record TwoArguments(BasedGeneration config) implements UDF2<Object, Object, Row> {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public Row call(Object prompt, Object seed) {
            return GenerationFunction.call(config, prompt, Arrays.asList(seed));
        }
    }
}
