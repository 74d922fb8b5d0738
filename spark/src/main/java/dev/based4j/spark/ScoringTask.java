package dev.based4j.spark;

import java.io.Serial;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;

/** The work of one partition of {@link BasedScoring#transform}, and of one call of its SQL function. */
final class ScoringTask implements MapPartitionsFunction<Row, Row> {
    @Serial
    private static final long serialVersionUID = 1L;

    private final BasedScoring config;
    private final int promptIndex;

    ScoringTask(BasedScoring config, int promptIndex) {
        this.config = config;
        this.promptIndex = promptIndex;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        LoadedModel model = ExecutorModels.get(config.model());
        int partition = Columns.partition();
        BatchDecode.Interruption interruption = Columns.interruption();
        long[] done = {0};
        return new Batches<>(rows, config.batchSize(), batch -> {
            long first = done[0];
            done[0] += batch.size();
            List<Object> prompts = new ArrayList<>(batch.size());
            for (Row r : batch) {
                prompts.add(r.get(promptIndex));
            }
            List<Results.Outcome> outcomes = run(config, model, prompts,
                    i -> (partition >= 0 ? "partition " + partition + ", " : "") + "row " + (first + i),
                    interruption);
            List<Row> out = new ArrayList<>(batch.size());
            for (int i = 0; i < batch.size(); i++) {
                out.add(Results.appended(batch.get(i), outcomes.get(i)));
            }
            return out;
        });
    }

    /**
     * Reads, validates and scores a batch of prompts.
     *
     * @throws BadRowException in strict mode, for the first unusable row
     */
    static List<Results.Outcome> run(BasedScoring config, LoadedModel model, List<Object> prompts,
            IntFunction<String> where, BatchDecode.Interruption interruption) {
        int n = prompts.size();
        Results.Outcome[] outcomes = new Results.Outcome[n];
        List<int[]> good = new ArrayList<>(n);
        List<Integer> goodRows = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Prompts.Read read = Prompts.read(prompts.get(i), model, 2, config.maxPromptTokens());
            if (read instanceof Prompts.Read.Bad bad) {
                if (config.strict()) {
                    throw new BadRowException(where.apply(i), bad.problem());
                }
                outcomes[i] = new Results.Outcome.Error(bad.problem());
                continue;
            }
            good.add(((Prompts.Read.Ids) read).ids());
            goodRows.add(i);
        }
        if (!good.isEmpty()) {
            List<BatchDecode.Scored> scored = BatchDecode.score(model.model(), good, interruption);
            for (int j = 0; j < good.size(); j++) {
                int row = goodRows.get(j);
                outcomes[row] = switch (scored.get(j)) {
                    case BatchDecode.Scored.Score s -> new Results.Outcome.Value(RowFactory.create(s.logLikelihood(),
                            s.scoredTokens(), Math.exp(-s.logLikelihood() / s.scoredTokens())));
                    case BatchDecode.Scored.Failed f -> {
                        if (config.strict()) {
                            throw new BadRowException(where.apply(row), f.problem());
                        }
                        yield new Results.Outcome.Error(f.problem());
                    }
                };
            }
        }
        return Arrays.asList(outcomes);
    }

    /** The SQL function {@code name(prompt)} of {@link BasedScoring#register}. */
    record Function(BasedScoring config) implements UDF1<Object, Row> {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public Row call(Object prompt) {
            LoadedModel model = ExecutorModels.get(config.model());
            Results.Outcome outcome = run(config, model, Arrays.asList(prompt), i -> {
                int p = Columns.partition();
                return p >= 0 ? "partition " + p : "row";
            }, Columns.interruption()).get(0);
            return Results.flattened(outcome, BasedScoring.RESULT_TYPE.size());
        }
    }
}
