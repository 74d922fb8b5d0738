package dev.based4j.model;

import dev.based4j.layer.DecodePlan;
import dev.based4j.layer.LayerStack;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Text generation with a {@link BasedModel}: each prompt is prefilled, then tokens are decoded one at a time with the
 * carried recurrent state, whose size is fixed whatever the number of tokens.
 *
 * <p><b>Batches of prompts of different lengths.</b> A recurrent state has one position for all its sequences, and
 * rotary angles, the sliding window's ring and the linear-attention sums all depend on it, so left padding would
 * either put pad tokens into the sums or shift positions. Instead prompts of equal length share one batched state
 * and prompts of other lengths get states of their own: every sequence sees exactly the positions it would see
 * alone, and its tokens equal those of generating it alone (sampling draws from a generator per sequence). Decode
 * steps go round the groups, so all sequences advance together; a finished sequence's slot in its group keeps
 * being fed (its outputs ignored) until the whole group is done.
 *
 * <p>Prefill runs in chunks of {@value #PREFILL_CHUNK} tokens so that the logits of a long prompt are never held at
 * once; chunked prefill equals one prefill (the state carries across). A generator is not thread-safe; a model may
 * serve several generators.
 */
public final class Generator {
    /** Tokens per prefill call. */
    public static final int PREFILL_CHUNK = 64;

    /** Receives each generated token as soon as it is chosen, on the generating thread. */
    @FunctionalInterface
    public interface TokenListener {
        /**
         * @param sequence index of the prompt in the batch
         * @param token the chosen id
         * @param index 0 for the first generated token of that sequence, then 1, 2, ...
         */
        void onToken(int sequence, int token, int index);
    }

    /** Asks a running generation to stop after the current step (a decode step or a prefill chunk). Thread-safe. */
    public static final class Cancellation {
        private volatile boolean cancelled;

        /** Requests the stop. */
        public void cancel() {
            cancelled = true;
        }

        /** @return whether {@link #cancel()} was called */
        public boolean isCancelled() {
            return cancelled;
        }
    }

    /** Why a sequence ended. */
    public enum StopReason {
        /** It generated {@link GenerationOptions#maxTokens()} tokens. */
        MAX_TOKENS,
        /** It generated one of the stop tokens. */
        STOP_TOKEN,
        /** {@link Cancellation#cancel()} was called or the thread was interrupted. */
        CANCELLED
    }

    /**
     * What a generation produced and how fast.
     *
     * @param tokens generated ids per sequence (stop token included)
     * @param reasons why each sequence ended
     * @param prefillTokens prompt tokens prefilled
     * @param prefillNanos time of the prefill, including choosing each sequence's first token
     * @param decodeTokens tokens produced by decode steps (every sequence of every step)
     * @param decodeNanos time of the decode steps
     */
    public record Result(List<int[]> tokens, List<StopReason> reasons, long prefillTokens, long prefillNanos,
            long decodeTokens, long decodeNanos) {
        /** Copies the lists. */
        public Result {
            tokens = tokens.stream().map(int[]::clone).toList();
            reasons = List.copyOf(reasons);
        }

        /** @return prompt tokens per second of prefill */
        public double prefillTokensPerSecond() {
            return prefillNanos == 0 ? 0 : prefillTokens * 1e9 / prefillNanos;
        }

        /** @return generated tokens per second of decode */
        public double decodeTokensPerSecond() {
            return decodeNanos == 0 ? 0 : decodeTokens * 1e9 / decodeNanos;
        }
    }

    private final BasedModel model;

    /** @param model the model to generate with */
    public Generator(BasedModel model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    /** One prompt; see {@link #generate(List, GenerationOptions, TokenListener, Cancellation)}. */
    public Result generate(int[] prompt, GenerationOptions options, TokenListener listener, Cancellation cancellation) {
        Objects.requireNonNull(prompt, "prompt");
        return generate(List.of(prompt), options, listener, cancellation);
    }

    /**
     * Generates a continuation of every prompt.
     *
     * @param prompts at least one; each non-empty, ids in {@code [0, paddedVocabSize)}
     * @param listener called for every token as it is chosen, or null
     * @param cancellation checked before every step and between the chunks of a prefill, or null
     * @throws IllegalArgumentException naming the prompt and the position of a bad id
     * @throws NonFiniteOutputException when the model's logits are not finite, naming where they first stopped being
     *     finite
     */
    public Result generate(List<int[]> prompts, GenerationOptions options, TokenListener listener,
            Cancellation cancellation) {
        Objects.requireNonNull(prompts, "prompts");
        Objects.requireNonNull(options, "options");
        long[] seeds = new long[prompts.size()];
        for (int i = 0; i < seeds.length; i++) {
            seeds[i] = options.seed() + i;
        }
        return generate(prompts, seeds, options, listener, cancellation);
    }

    /**
     * Generates a continuation of every prompt, sampling prompt {@code i} with its own seed {@code seeds[i]}
     * (instead of {@code options.seed() + i}), so that a prompt's tokens depend on its seed only, not on the other
     * prompts generated with it or on its place among them.
     *
     * @param seeds one per prompt
     * @throws IllegalArgumentException naming {@code seeds} when their number differs from the prompts'
     */
    public Result generate(List<int[]> prompts, long[] seeds, GenerationOptions options, TokenListener listener,
            Cancellation cancellation) {
        Objects.requireNonNull(prompts, "prompts");
        Objects.requireNonNull(options, "options");
        if (seeds == null || seeds.length != prompts.size()) {
            throw new IllegalArgumentException("seeds: expected one seed per prompt (" + prompts.size() + "), got "
                    + (seeds == null ? "null" : seeds.length));
        }
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("prompts: expected at least one prompt, got none");
        }
        int padded = model.config().paddedVocabSize();
        for (int p = 0; p < prompts.size(); p++) {
            int[] ids = prompts.get(p);
            if (ids == null || ids.length == 0) {
                throw new IllegalArgumentException("prompts: prompt " + p + " is " + (ids == null ? "null" : "empty")
                        + "; expected at least one token id");
            }
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= padded) {
                    throw new IllegalArgumentException("prompts: prompt " + p + " has id " + ids[i] + " at position " + i
                            + ", expected a token id in [0, " + padded + ")");
                }
            }
        }
        Sampler sampler = new Sampler(options, model.config().vocabSize());
        int n = prompts.size();
        List<List<Integer>> output = new ArrayList<>();
        StopReason[] reasons = new StopReason[n];
        SplittableRandom[] random = new SplittableRandom[n];
        for (int i = 0; i < n; i++) {
            output.add(new ArrayList<>());
            random[i] = new SplittableRandom(seeds[i]);
        }
        Map<Integer, List<Integer>> byLength = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            byLength.computeIfAbsent(prompts.get(i).length, k -> new ArrayList<>()).add(i);
        }
        List<Group> groups = new ArrayList<>();
        long prefillTokens = 0;
        long decodeTokens = 0;
        long prefillNanos = 0;
        long decodeNanos = 0;
        try {
            long t0 = System.nanoTime();
            for (Map.Entry<Integer, List<Integer>> e : byLength.entrySet()) {
                if (stopRequested(cancellation)) {
                    break;
                }
                Group g = new Group(e.getValue(), model.newState(e.getValue().size()));
                groups.add(g);
                float[][] last = prefill(g, prompts, e.getKey(), cancellation);
                if (last == null) {
                    break;
                }
                requireFinite(last, g, prompts, output);
                prefillTokens += (long) e.getKey() * g.members.size();
                for (int j = 0; j < g.members.size(); j++) {
                    accept(g, j, sampler.sample(last[j], 0, random[g.members.get(j)]), options, output, reasons,
                            listener);
                }
            }
            prefillNanos = System.nanoTime() - t0;
            long t1 = System.nanoTime();
            boolean any = true;
            while (any) {
                any = false;
                for (Group g : groups) {
                    if (g.done(reasons)) {
                        continue;
                    }
                    if (stopRequested(cancellation)) {
                        any = false;
                        break;
                    }
                    any = true;
                    int[] next = new int[g.members.size()];
                    for (int j = 0; j < next.length; j++) {
                        List<Integer> out = output.get(g.members.get(j));
                        next[j] = out.get(out.size() - 1);
                    }
                    if (g.plan == null) {
                        g.plan = model.planDecode(g.state);
                    }
                    // the plan owns its logits: valid until its next step, never closed here
                    float[][] rows = model.lastLogits(g.plan.step(next));
                    requireFinite(rows, g, prompts, output);
                    decodeTokens += g.members.size();
                    for (int j = 0; j < next.length; j++) {
                        if (reasons[g.members.get(j)] == null) {
                            accept(g, j, sampler.sample(rows[j], 0, random[g.members.get(j)]), options, output,
                                    reasons, listener);
                        }
                    }
                }
            }
            decodeNanos = System.nanoTime() - t1;
        } finally {
            for (Group g : groups) {
                if (g.plan != null) {
                    g.plan.close();
                }
                g.state.close();
            }
        }
        for (int i = 0; i < n; i++) {
            if (reasons[i] == null) {
                reasons[i] = StopReason.CANCELLED;
            }
        }
        List<int[]> tokens = output.stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toList();
        return new Result(tokens, Arrays.asList(reasons), prefillTokens, prefillNanos, decodeTokens, decodeNanos);
    }

    private static boolean stopRequested(Cancellation cancellation) {
        return cancellation != null && cancellation.isCancelled() || Thread.currentThread().isInterrupted();
    }

    /** Prompts of one length, prefilled together into one state, then decoded through one plan. */
    private static final class Group {
        final List<Integer> members;
        final LayerStack.State state;
        DecodePlan plan;

        Group(List<Integer> members, LayerStack.State state) {
            this.members = members;
            this.state = state;
        }

        boolean done(StopReason[] reasons) {
            return members.stream().allMatch(m -> reasons[m] != null);
        }
    }

    private void accept(Group g, int j, int token, GenerationOptions options, List<List<Integer>> output,
            StopReason[] reasons, TokenListener listener) {
        int seq = g.members.get(j);
        List<Integer> out = output.get(seq);
        out.add(token);
        if (listener != null) {
            listener.onToken(seq, token, out.size() - 1);
        }
        if (options.stopTokens().contains(token)) {
            reasons[seq] = StopReason.STOP_TOKEN;
        } else if (out.size() >= options.maxTokens()) {
            reasons[seq] = StopReason.MAX_TOKENS;
        }
    }

    /**
     * Prefills the group's prompts in chunks; returns the last position's logits per member, or null when the
     * generation was cancelled between two chunks (a long prompt stops as promptly as a long generation).
     */
    private float[][] prefill(Group g, List<int[]> prompts, int length, Cancellation cancellation) {
        int b = g.members.size();
        float[][] last = null;
        for (int from = 0; from < length; from += PREFILL_CHUNK) {
            if (from > 0 && stopRequested(cancellation)) {
                return null;
            }
            int len = Math.min(PREFILL_CHUNK, length - from);
            int[] ids = new int[b * len];
            for (int j = 0; j < b; j++) {
                System.arraycopy(prompts.get(g.members.get(j)), from, ids, j * len, len);
            }
            try (Tensor logits = model.prefillLast(ids, b, len, g.state)) {
                if (from + len == length) {
                    last = model.lastLogits(logits);
                }
            }
        }
        return last;
    }

    /**
     * Refuses logits that are not finite over the ids that may be sampled: nothing drawn from them would mean
     * anything. The model then re-runs the sequence stage by stage to name where its output first stopped being
     * finite ({@link BasedModel#locateNonFinite}).
     *
     * @throws NonFiniteOutputException naming the sequence, the id and the first stage whose output is not finite
     */
    private void requireFinite(float[][] rows, Group g, List<int[]> prompts, List<List<Integer>> output) {
        int vocab = model.config().vocabSize();
        for (int j = 0; j < rows.length; j++) {
            for (int i = 0; i < vocab; i++) {
                if (!Float.isFinite(rows[j][i])) {
                    int seq = g.members.get(j);
                    int[] prompt = prompts.get(seq);
                    List<Integer> generated = output.get(seq);
                    int[] tokens = Arrays.copyOf(prompt, prompt.length + generated.size());
                    for (int t = 0; t < generated.size(); t++) {
                        tokens[prompt.length + t] = generated.get(t);
                    }
                    String where;
                    BasedModel.NonFiniteStage stage = null;
                    try {
                        stage = model.locateNonFinite(tokens).orElse(null);
                        where = stage == null ? "re-run stage by stage, every output was finite, so the cause could"
                                + " not be located" : "the first output that is not finite is that of "
                                + stage.description() + " at token " + stage.position();
                    } catch (RuntimeException e) {
                        where = "locating the first stage whose output is not finite failed: " + e;
                    }
                    throw new NonFiniteOutputException("logits: id " + i + " is " + rows[j][i] + " for prompt " + seq
                            + " after " + tokens.length + " tokens (" + generated.size() + " generated), so no token"
                            + " can be sampled; " + where + ". Non-finite weights in the checkpoint are the usual"
                            + " cause", stage);
                }
            }
        }
    }
}
