package dev.based4j.spark;

import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import java.io.Serial;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.IntFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/** The work of one partition of {@link BasedGeneration#transform}, and of one call of its SQL function. */
final class GenerationTask implements MapPartitionsFunction<Row, Row> {
    @Serial
    private static final long serialVersionUID = 1L;

    private final BasedGeneration config;
    private final int promptIndex;
    private final int seedIndex;

    /** @param seedIndex the seed column's index, or -1 to derive seeds from the prompts */
    GenerationTask(BasedGeneration config, int promptIndex, int seedIndex) {
        this.config = config;
        this.promptIndex = promptIndex;
        this.seedIndex = seedIndex;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        LoadedModel model = ExecutorModels.get(config.model());
        GenerationOptions options = config.options(model.model().config().eosTokenId());
        int partition = Columns.partition();
        BatchDecode.Interruption interruption = Columns.interruption();
        long[] done = {0};
        return new Batches<>(rows, config.batchSize(), batch -> {
            long first = done[0];
            done[0] += batch.size();
            List<Object> prompts = new ArrayList<>(batch.size());
            List<Object> seeds = seedIndex < 0 ? null : new ArrayList<>(batch.size());
            for (Row r : batch) {
                prompts.add(r.get(promptIndex));
                if (seeds != null) {
                    seeds.add(r.get(seedIndex));
                }
            }
            List<Results.Outcome> outcomes = run(config, model, options, prompts, seeds,
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
     * Reads, validates and generates a batch of prompts.
     *
     * @param seeds the seed cells, or null to derive each row's seed from the base seed and its prompt
     * @param where names row {@code i} for messages
     * @throws BadRowException in strict mode, for the first unusable row
     */
    static List<Results.Outcome> run(BasedGeneration config, LoadedModel model, GenerationOptions options,
            List<Object> prompts, List<Object> seeds, IntFunction<String> where,
            BatchDecode.Interruption interruption) {
        int n = prompts.size();
        Results.Outcome[] outcomes = new Results.Outcome[n];
        List<int[]> good = new ArrayList<>(n);
        List<Integer> goodRows = new ArrayList<>(n);
        long[] goodSeeds = new long[n];
        for (int i = 0; i < n; i++) {
            Prompts.Read read = Prompts.read(prompts.get(i), model, 1, config.maxPromptTokens());
            String problem = null;
            if (read instanceof Prompts.Read.Bad bad) {
                problem = bad.problem();
            } else if (seeds != null && !(seeds.get(i) instanceof Number)) {
                problem = "seed: " + (seeds.get(i) == null ? "null" : "a " + seeds.get(i).getClass().getSimpleName())
                        + (config.seedColumn() != null ? " in column '" + config.seedColumn() + "'" : "")
                        + "; expected this row's sampling seed, an integer";
            }
            if (problem != null) {
                if (config.strict()) {
                    throw new BadRowException(where.apply(i), problem);
                }
                outcomes[i] = new Results.Outcome.Error(problem);
                continue;
            }
            int[] ids = ((Prompts.Read.Ids) read).ids();
            goodSeeds[good.size()] = seeds != null ? ((Number) seeds.get(i)).longValue()
                    : BasedGeneration.rowSeed(config.seed(), ids);
            good.add(ids);
            goodRows.add(i);
        }
        if (!good.isEmpty()) {
            List<BatchDecode.Generated> generated = BatchDecode.generate(model.model(), good,
                    Arrays.copyOf(goodSeeds, good.size()), options, interruption);
            for (int j = 0; j < good.size(); j++) {
                int row = goodRows.get(j);
                outcomes[row] = switch (generated.get(j)) {
                    case BatchDecode.Generated.Tokens t -> new Results.Outcome.Value(result(model, options,
                            good.get(j).length, t.ids(), t.reason()));
                    case BatchDecode.Generated.Failed f -> {
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

    private static Row result(LoadedModel model, GenerationOptions options, int promptTokens, int[] ids,
            Generator.StopReason reason) {
        String text = null;
        if (model.tokenizer() != null) {
            int end = reason == Generator.StopReason.STOP_TOKEN ? ids.length - 1 : ids.length;
            text = model.tokenizer().decode(Arrays.copyOf(ids, end));
        }
        return RowFactory.create(ids, text, reason.name().toLowerCase(Locale.ROOT), promptTokens, ids.length);
    }
}
