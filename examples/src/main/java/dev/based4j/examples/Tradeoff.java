package dev.based4j.examples;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The recall–throughput tradeoff run by {@code based4j bench}: prefill and decode tokens/s of (a) a BASED layer
 * stack and (b) a stack of the same width and depth with full causal softmax attention (unbounded window, growing
 * KV cache) in every layer, as the context grows, for several batch sizes. Stacks map hidden states to hidden
 * states (no embedding, no head: the head's cost does not depend on the mixer), F32, seeded random weights.
 *
 * <p>Per model, context {@code c} and batch {@code B}: prefill of {@code c} tokens per sequence from an empty state
 * (repeated while it takes under {@link #PREFILL_BUDGET_S} seconds, at most {@link #PREFILL_RUNS} times, the best
 * kept), then, on the state the prefill left, decode steps of one token per sequence (untimed ones for
 * {@link #POINT_WARMUP_S}, then timed ones until {@code decodeSteps} or {@link #DECODE_BUDGET_S} seconds; the
 * median step counts). Both models first run
 * untimed at every batch size, a prefill and {@link #WARMUP_S} seconds of decode steps, so that the JIT has compiled
 * the kernels before the first point.
 */
final class Tradeoff {
    /** Prefill is repeated (fresh state each time) while the runs so far took less than this. */
    static final double PREFILL_BUDGET_S = 0.5;
    /** At most this many prefill runs per point. */
    static final int PREFILL_RUNS = 5;
    /** Timed decode stops after this many seconds, even before {@code decodeSteps}. */
    static final double DECODE_BUDGET_S = 1.0;
    /** Untimed decode steps before the timed ones, at least. */
    static final int DECODE_WARMUP = 2;
    /**
     * Untimed decode steps before the timed ones go on for this long (at most {@link #POINT_WARMUP_STEPS}): the
     * first steps after a prefill of a new shape can run while the JIT recompiles what the prefill deoptimised.
     */
    static final double POINT_WARMUP_S = 0.25;
    /** Most untimed decode steps per point; the attention stack's KV cache has room for them. */
    static final int POINT_WARMUP_STEPS = 256;
    /**
     * Warm-up before the first point, per model and batch size: decode steps until this many seconds have passed
     * (at most {@link #WARMUP_STEPS}), so that the JIT has compiled the decode path, which a point's few timed steps
     * would otherwise measure half-interpreted.
     */
    static final double WARMUP_S = 2.0;
    /** Most warm-up decode steps per model and batch size. */
    static final int WARMUP_STEPS = 4000;
    /** Timed decode steps are at least this many. */
    static final int MIN_DECODE_STEPS = 2;
    /** Model label of the BASED stack. */
    static final String BASED = "based";
    /** Model label of the full-attention stack. */
    static final String ATTENTION = "attention";

    private Tradeoff() {}

    /**
     * The width and depth of both stacks, and the BASED stack's own layout.
     *
     * @param name {@code small} or {@code 360m}
     * @param based the BASED stack (hidden states in and out)
     * @param attentionHeads heads of each full-attention layer (head width {@code d_model / heads})
     */
    record Size(String name, LayerStack.Config based, int attentionHeads) {
        /**
         * @return {@code small}: width 64, 3 layers (BaseConv, linear attention with one head of Taylor f = 16 and
         *     values of 64, sliding window with one head of 64 and lookback 64), SwiGLU MLP 256, so that full
         *     attention at 32k tokens of context takes minutes, not hours, on two cores; or {@code 360m}: the
         *     released based-360m layout ({@link BasedConfig#based360m} with {@code window_size 128}, lookback 64),
         *     27 layers of width 1024, 16 heads
         */
        static Size named(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "small" -> new Size("small", hiddenOnly(LayerStack.Config.based(1, 64, 3, 1, 16, 64)), 1);
                case "360m" -> new Size("360m", hiddenOnly(BasedModel.stackConfig(BasedConfig.based360m(128))), 16);
                default -> throw new IllegalArgumentException("size: expected small or 360m, got '" + name + "'");
            };
        }

        private static LayerStack.Config hiddenOnly(LayerStack.Config c) {
            return new LayerStack.Config(0, c.mixers(), c.mlp(), c.normEps(), false);
        }

        /** @return d_model */
        int modelDim() {
            return based.modelDim();
        }

        /** @return number of layers */
        int layers() {
            return based.mixers().size();
        }

        /** @return the full-attention stack whose KV caches hold {@code maxTokens} tokens */
        LayerStack.Config attention(int maxTokens) {
            int d = modelDim();
            List<MixerConfig> mixers = Collections.nCopies(layers(), new SlidingWindowLayer.Config(d, attentionHeads,
                    SlidingWindowSpec.unbounded(), d / attentionHeads, SlidingWindowLayer.DEFAULT_ROTARY_BASE, false,
                    false, maxTokens));
            return new LayerStack.Config(0, mixers, based.mlp(), based.normEps(), false);
        }
    }

    /** One measurement: tokens/s of all sequences together and achieved GFLOP/s ({@link StackFlops}). */
    record Measurement(String backend, String model, String phase, int batch, int context, double tokensPerSecond,
            double gflops) {}

    /** Hears about progress. */
    interface Listener {
        /** The run will take {@code points} (model, context, batch) points. */
        void started(int points);

        /** A point starts. */
        void point(String model, int context, int batch);

        /** A point is done. */
        void done(Measurement prefill, Measurement decode);
    }

    /**
     * Runs the tradeoff.
     *
     * @param models which of {@link #BASED} and {@link #ATTENTION} to run
     * @param contexts context lengths, each at least 1
     * @param batches batch sizes, each at least 1
     * @param decodeSteps most timed decode steps per point
     * @return prefill and decode measurements, per model, context and batch in that order
     */
    static List<Measurement> run(Backend backend, Size size, List<String> models, List<Integer> contexts,
            List<Integer> batches, int decodeSteps, long seed, Listener listener) {
        return run(backend, size, models, contexts, batches, decodeSteps, seed, listener, RunControl.current());
    }

    /**
     * As {@link #run(Backend, Size, List, List, List, int, long, Listener)}, stopping at the next step once
     * {@code control} is asked to stop.
     *
     * @throws RunControl.Stopped when it stopped early; the listener has heard of every point finished before
     */
    static List<Measurement> run(Backend backend, Size size, List<String> models, List<Integer> contexts,
            List<Integer> batches, int decodeSteps, long seed, Listener listener, RunControl control) {
        return run(backend, size, WeightFormat.F32, models, contexts, batches, decodeSteps, seed, listener, control);
    }

    /**
     * As {@link #run(Backend, Size, List, List, List, int, long, Listener, RunControl)} with the matrices of both
     * stacks stored in {@code weights} (activations, states and sums in float32).
     */
    static List<Measurement> run(Backend backend, Size size, WeightFormat weights, List<String> models,
            List<Integer> contexts, List<Integer> batches, int decodeSteps, long seed, Listener listener,
            RunControl control) {
        listener.started(models.size() * contexts.size() * batches.size());
        int warmContext = Math.min(256, contexts.stream().mapToInt(Integer::intValue).min().orElse(256));
        try (LayerStack based = LayerStack.random(backend, DType.F32, weights, size.based(), seed)) {
            List<Measurement> out = new ArrayList<>();
            // each model is warmed up just before its own points: warming the other one in between would leave
            // shared code compiled for the other's shapes
            if (models.contains(BASED)) {
                warmUp(backend, based, warmContext, batches, seed, control);
            }
            for (int context : models.contains(BASED) ? contexts : List.<Integer>of()) {
                for (int batch : batches) {
                    listener.point(BASED, context, batch);
                    out.addAll(point(backend, BASED, based, size.based(), context, batch, decodeSteps, seed, listener,
                            control));
                }
            }
            if (models.contains(ATTENTION)) {
                try (LayerStack attention = LayerStack.random(backend, DType.F32, weights,
                        size.attention(warmContext + WARMUP_STEPS), seed)) {
                    warmUp(backend, attention, warmContext, batches, seed, control);
                }
            }
            for (int context : models.contains(ATTENTION) ? contexts : List.<Integer>of()) {
                LayerStack.Config config = size.attention(context + POINT_WARMUP_STEPS + decodeSteps);
                try (LayerStack attention = LayerStack.random(backend, DType.F32, weights, config, seed)) {
                    for (int batch : batches) {
                        listener.point(ATTENTION, context, batch);
                        out.addAll(point(backend, ATTENTION, attention, config, context, batch, decodeSteps, seed,
                                listener, control));
                    }
                }
            }
            return out;
        }
    }

    private static void warmUp(Backend backend, LayerStack stack, int context, List<Integer> batches, long seed,
            RunControl control) {
        for (int batch : batches) {
            control.check();
            try (Tensor x = hidden(backend, batch, context, stack.modelDim(), seed);
                    Tensor token = hidden(backend, batch, 1, stack.modelDim(), seed + 1);
                    LayerStack.State state = stack.newState(batch)) {
                stack.hidden(x, state, false).close();
                long deadline = System.nanoTime() + (long) (WARMUP_S * 1e9);
                for (int i = 0; i < WARMUP_STEPS && (i < DECODE_WARMUP + 2 || System.nanoTime() < deadline); i++) {
                    control.check();
                    stack.hidden(token, state, true).close();
                }
            }
        }
    }

    private static List<Measurement> point(Backend backend, String model, LayerStack stack, LayerStack.Config config,
            int context, int batch, int decodeSteps, long seed, Listener listener, RunControl control) {
        String name = backend.name();
        try (Tensor x = hidden(backend, batch, context, stack.modelDim(), seed + context);
                Tensor token = hidden(backend, batch, 1, stack.modelDim(), seed + context + 1)) {
            LayerStack.State state = null;
            try {
                double best = Double.POSITIVE_INFINITY;
                double spent = 0;
                for (int run = 0; run < PREFILL_RUNS && (run == 0 || spent < PREFILL_BUDGET_S); run++) {
                    control.check();
                    if (state != null) {
                        state.close();
                    }
                    state = stack.newState(batch);
                    long t0 = System.nanoTime();
                    stack.hidden(x, state, false).close();
                    double seconds = (System.nanoTime() - t0) * 1e-9;
                    best = Math.min(best, seconds);
                    spent += seconds;
                }
                Measurement prefill = new Measurement(name, model, "prefill", batch, context,
                        (double) batch * context / best, StackFlops.of(config, batch, 0, context) / best * 1e-9);

                long deadline = System.nanoTime() + (long) (POINT_WARMUP_S * 1e9);
                int warm = 0;
                while (warm < DECODE_WARMUP || (warm < POINT_WARMUP_STEPS && System.nanoTime() < deadline)) {
                    control.check();
                    stack.hidden(token, state, true).close();
                    warm++;
                }
                long before = context + warm;
                double[] stepSeconds = new double[decodeSteps];
                double flops = 0;
                int steps = 0;
                double elapsed = 0;
                while (steps < decodeSteps && (steps < MIN_DECODE_STEPS || elapsed < DECODE_BUDGET_S)) {
                    control.check();
                    long t0 = System.nanoTime();
                    stack.hidden(token, state, true).close();
                    stepSeconds[steps] = (System.nanoTime() - t0) * 1e-9;
                    elapsed += stepSeconds[steps];
                    flops += StackFlops.of(config, batch, before + steps, 1);
                    steps++;
                }
                // the median step: one descheduled step on a shared machine does not move it
                double[] timed = java.util.Arrays.copyOf(stepSeconds, steps);
                java.util.Arrays.sort(timed);
                double median = steps % 2 == 1 ? timed[steps / 2] : (timed[steps / 2 - 1] + timed[steps / 2]) / 2;
                Measurement decode = new Measurement(name, model, "decode", batch, context, batch / median,
                        flops / steps / median * 1e-9);
                listener.done(prefill, decode);
                return List.of(prefill, decode);
            } finally {
                if (state != null) {
                    state.close();
                }
            }
        }
    }

    /** @return {@code [batch, seq, d]} hidden states of unit scale (like embedding rows), seeded */
    private static Tensor hidden(Backend backend, int batch, int seq, int d, long seed) {
        HostTensor h = HostTensor.allocate(Shape.of(batch, seq, d), DType.F32);
        MemorySegment s = h.segment();
        SplittableRandom r = new SplittableRandom(seed);
        long n = h.shape().elementCount();
        double bound = Math.sqrt(3);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) ((r.nextDouble() * 2 - 1) * bound));
        }
        return backend.upload(h);
    }
}
