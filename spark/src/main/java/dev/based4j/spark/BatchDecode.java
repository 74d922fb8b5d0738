package dev.based4j.spark;

import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedModel;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.model.Sampler;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Runs a batch of validated prompts through a model: generation with one seeded generator per row, and scoring.
 * Everything a partition computes goes through here, so that batched execution plans can replace the
 * prefill/decode calls of this one class.
 *
 * <p>Generation follows {@link Generator} step for step (prompts of equal length share a state, prefill in chunks
 * of {@link Generator#PREFILL_CHUNK} tokens, decode steps go round the groups, a finished row's slot is fed until
 * its group is done) with one difference: row {@code i} draws from {@code new SplittableRandom(seeds[i])}, where
 * {@code Generator} draws sequence {@code i} of a batch from {@code seed + i}. A row's tokens are therefore those of
 * {@code new Generator(model).generate(prompt, options.withSeed(seeds[i]), ...)} alone, whatever rows share its
 * batch, as far as the backend computes a row's logits independently of the batch (see the package documentation).
 */
final class BatchDecode {
    /** Bytes of logits one prefill call may produce ({@code rows × chunk × vocabulary × 4}); larger groups are split. */
    static final long LOGITS_BUDGET = 128L << 20;

    /** Called between steps; throws to stop (Spark's task kill). */
    @FunctionalInterface
    interface Interruption {
        void check();
    }

    /** What one row of a generation produced. */
    sealed interface Generated {
        /** The generated ids (stop token included) and why generation ended. */
        record Tokens(int[] ids, Generator.StopReason reason) implements Generated {}

        /** The model's output could not be sampled (NaN logits); names the step. */
        record Failed(String problem) implements Generated {}
    }

    /** What one row of scoring produced. */
    sealed interface Scored {
        /**
         * @param logLikelihood {@code Σ_{t≥1} log p(ids[t] | ids[0..t))}, natural log, in float64
         * @param scoredTokens {@code ids.length − 1}
         */
        record Score(double logLikelihood, int scoredTokens) implements Scored {}

        /** The logits of a position were not finite; names it. */
        record Failed(String problem) implements Scored {}
    }

    private BatchDecode() {}

    /**
     * Generates a continuation of every prompt.
     *
     * @param prompts validated: non-empty, ids in {@code [0, vocabSize)}
     * @param seeds one per prompt
     */
    static List<Generated> generate(BasedModel model, List<int[]> prompts, long[] seeds, GenerationOptions options,
            Interruption interruption) {
        int n = prompts.size();
        Sampler sampler = new Sampler(options, model.config().vocabSize());
        SplittableRandom[] random = new SplittableRandom[n];
        List<List<Integer>> output = new ArrayList<>(n);
        Generated[] result = new Generated[n];
        for (int i = 0; i < n; i++) {
            random[i] = new SplittableRandom(seeds[i]);
            output.add(new ArrayList<>());
        }
        List<Group> groups = new ArrayList<>();
        try {
            for (List<Integer> members : groups(prompts, model)) {
                interruption.check();
                Group g = new Group(members, model.newState(members.size()));
                groups.add(g);
                float[][] last = lastLogitsOfPrefill(model, g, prompts, prompts.get(members.get(0)).length);
                for (int j = 0; j < g.members.size(); j++) {
                    accept(g.members.get(j), last[j], 0, sampler, random, options, output, result);
                }
            }
            boolean any = true;
            while (any) {
                any = false;
                for (Group g : groups) {
                    if (g.members.stream().allMatch(m -> result[m] != null)) {
                        continue;
                    }
                    interruption.check();
                    any = true;
                    int[] next = new int[g.members.size()];
                    for (int j = 0; j < next.length; j++) {
                        List<Integer> out = output.get(g.members.get(j));
                        // a failed row has no token to feed: its slot takes id 0, and its outputs are ignored
                        next[j] = out.isEmpty() ? 0 : out.get(out.size() - 1);
                    }
                    float[][] rows;
                    try (Tensor logits = model.decode(next, g.state)) {
                        rows = model.lastLogits(logits);
                    }
                    for (int j = 0; j < next.length; j++) {
                        int m = g.members.get(j);
                        if (result[m] == null) {
                            accept(m, rows[j], output.get(m).size(), sampler, random, options, output, result);
                        }
                    }
                }
            }
        } finally {
            for (Group g : groups) {
                g.state.close();
            }
        }
        return Arrays.asList(result);
    }

    /**
     * Scores every prompt: the log-likelihood of each token given the ones before it, summed in float64 from the
     * log-softmax of the logits over the vocabulary {@code [0, vocabSize)} (the padded ids are never trained, as in
     * {@link Sampler}). The first token is context only.
     *
     * @param prompts validated: at least two ids each, in {@code [0, vocabSize)}
     */
    static List<Scored> score(BasedModel model, List<int[]> prompts, Interruption interruption) {
        int n = prompts.size();
        Scored[] result = new Scored[n];
        int vocab = model.config().vocabSize();
        for (List<Integer> members : groups(prompts, model)) {
            int length = prompts.get(members.get(0)).length;
            int b = members.size();
            double[] sum = new double[b];
            String[] failed = new String[b];
            try (LayerStack.State state = model.newState(b)) {
                for (int from = 0; from < length; from += Generator.PREFILL_CHUNK) {
                    interruption.check();
                    int len = Math.min(Generator.PREFILL_CHUNK, length - from);
                    try (Tensor logits = model.prefill(chunk(prompts, members, from, len), b, len, state)) {
                        HostTensor host = model.backend().download(logits);
                        int padded = logits.shape().dim(2);
                        for (int j = 0; j < b; j++) {
                            int[] ids = prompts.get(members.get(j));
                            for (int t = 0; t < len && from + t + 1 < length && failed[j] == null; t++) {
                                long base = ((long) j * len + t) * padded;
                                double lse = logSumExp(host, base, vocab);
                                double target = host.getDouble(base + ids[from + t + 1]);
                                if (!Double.isFinite(lse) || !Double.isFinite(target)) {
                                    failed[j] = "the model's logits at position " + (from + t) + " are not finite";
                                } else {
                                    sum[j] += target - lse;
                                }
                            }
                        }
                    }
                }
            }
            for (int j = 0; j < b; j++) {
                result[members.get(j)] = failed[j] != null ? new Scored.Failed(failed[j])
                        : new Scored.Score(sum[j], length - 1);
            }
        }
        return Arrays.asList(result);
    }

    /**
     * Prompt indices grouped by length, shortest first; a length with more rows than one prefill call may hold within
     * {@link #LOGITS_BUDGET} is split into several groups.
     */
    static List<List<Integer>> groups(List<int[]> prompts, BasedModel model) {
        Map<Integer, List<Integer>> byLength = new TreeMap<>();
        for (int i = 0; i < prompts.size(); i++) {
            byLength.computeIfAbsent(prompts.get(i).length, k -> new ArrayList<>()).add(i);
        }
        long perRow = (long) Generator.PREFILL_CHUNK * model.config().paddedVocabSize() * Float.BYTES;
        int maxRows = (int) Math.max(1, Math.min(Integer.MAX_VALUE, LOGITS_BUDGET / perRow));
        List<List<Integer>> groups = new ArrayList<>();
        for (List<Integer> rows : byLength.values()) {
            for (int from = 0; from < rows.size(); from += maxRows) {
                groups.add(rows.subList(from, Math.min(rows.size(), from + maxRows)));
            }
        }
        return groups;
    }

    private record Group(List<Integer> members, LayerStack.State state) {}

    private static void accept(int row, float[] logits, int index, Sampler sampler, SplittableRandom[] random,
            GenerationOptions options, List<List<Integer>> output, Generated[] result) {
        int token;
        try {
            token = sampler.sample(logits, 0, random[row]);
        } catch (IllegalStateException e) {
            result[row] = new Generated.Failed("generated token " + index + ": " + e.getMessage());
            return;
        }
        List<Integer> out = output.get(row);
        out.add(token);
        if (options.stopTokens().contains(token)) {
            result[row] = new Generated.Tokens(ids(out), Generator.StopReason.STOP_TOKEN);
        } else if (out.size() >= options.maxTokens()) {
            result[row] = new Generated.Tokens(ids(out), Generator.StopReason.MAX_TOKENS);
        }
    }

    private static int[] ids(List<Integer> out) {
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Prefills the group in chunks; returns the last position's logits of each member. */
    private static float[][] lastLogitsOfPrefill(BasedModel model, Group g, List<int[]> prompts, int length) {
        int b = g.members.size();
        float[][] last = null;
        for (int from = 0; from < length; from += Generator.PREFILL_CHUNK) {
            int len = Math.min(Generator.PREFILL_CHUNK, length - from);
            try (Tensor logits = model.prefill(chunk(prompts, g.members, from, len), b, len, g.state)) {
                if (from + len == length) {
                    last = model.lastLogits(logits);
                }
            }
        }
        return last;
    }

    private static int[] chunk(List<int[]> prompts, List<Integer> members, int from, int len) {
        int[] ids = new int[members.size() * len];
        for (int j = 0; j < members.size(); j++) {
            System.arraycopy(prompts.get(members.get(j)), from, ids, j * len, len);
        }
        return ids;
    }

    private static double logSumExp(HostTensor logits, long base, int vocab) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            double v = logits.getDouble(base + i);
            if (Double.isNaN(v)) {
                return Double.NaN;
            }
            max = Math.max(max, v);
        }
        if (Double.isInfinite(max)) {
            return max;
        }
        double s = 0;
        for (int i = 0; i < vocab; i++) {
            s += Math.exp(logits.getDouble(base + i) - max);
        }
        return max + Math.log(s);
    }
}
