package dev.based4j.examples;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.layer.HiddenPlan;
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
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * The recall–throughput tradeoff run by {@code based4j bench}: prefill and decode tokens/s of (a) a BASED layer
 * stack and (b) a stack of the same width and depth with full causal softmax attention (unbounded window, growing
 * KV cache) in every layer, as the context grows, for several batch sizes. Stacks map hidden states to hidden
 * states (no embedding, no head: the head's cost does not depend on the mixer), F32, seeded random weights.
 *
 * <p>Every point (model, context {@code c}, batch {@code B}) is warmed at its own shape and then timed
 * {@code repeats} times; it reports the median, the fastest and the slowest repeat:
 * <ul>
 *   <li><b>prefill</b>: one untimed prefill of {@code c} tokens per sequence from an empty state (a prefill of a new
 *       length allocates new intermediates and can make the JIT recompile), then {@code repeats} timed ones, each
 *       from a fresh empty state (made before the clock starts), run eagerly ({@link LayerStack#hidden});</li>
 *   <li><b>decode</b>: on the state the last prefill left, the stack's decode step planned once
 *       ({@link LayerStack#planHidden}, so no step validates or allocates), untimed blocks of
 *       {@value #WARMUP_BLOCK} steps for at least {@value #POINT_WARMUP_MIN_S} s and until they run settled (below),
 *       at most {@value #POINT_WARMUP_STEPS} steps or {@value #POINT_WARMUP_MAX_S} s, then {@code repeats} timed runs of {@code decodeSteps} steps each. The
 *       input hidden state stays the same from step to step: in a model the next input comes from the embedding of
 *       the sampled token, outside these hidden-state stacks, and feeding the output back would add a copy a
 *       model's step does not make.</li>
 * </ul>
 * Every timed region waits for the backend before its clock reads: {@link Backend#synchronize()} before the first
 * reading (so queued work is not counted) and before the second (so work still queued on a device is).
 *
 * <p>Before its first point each model runs untimed at every batch size, prefills of a short context and then
 * blocks of planned decode steps, each for at least {@value #WARMUP_MIN_S} s and until it runs settled, so that the
 * JIT has compiled the kernels. "Settled":
 * the block has not got faster by more than {@value #SETTLE_PERCENT} % for {@value #SETTLE_BLOCKS} blocks in a row;
 * a fixed warm-up time is not enough on a busy machine, where the JIT's compiler threads share the cores.
 */
final class Tradeoff {
    /** Timed repeats of every point, unless {@code --repeats} says otherwise. */
    static final int DEFAULT_REPEATS = 5;
    /** The most timed repeats of a point. */
    static final int MAX_REPEATS = 100;
    /** Decode steps in one timed decode repeat, unless {@code --decode-steps} says otherwise. */
    static final int DEFAULT_DECODE_STEPS = 16;
    /** A warm-up block is settled when it has not got faster by more than this many percent ... */
    static final int SETTLE_PERCENT = 5;
    /** ... for this many blocks in a row. */
    static final int SETTLE_BLOCKS = 3;
    /** Decode steps in one untimed warm-up block. */
    static final int WARMUP_BLOCK = 8;
    /** Most untimed decode steps per point; the attention stack's KV cache has room for them. */
    static final int POINT_WARMUP_STEPS = 256;
    /**
     * Fewest seconds of a point's untimed decode steps (unless {@link #POINT_WARMUP_STEPS} come first): the first
     * steps after a prefill of a new shape can run while the JIT recompiles what the prefill deoptimised.
     */
    static final double POINT_WARMUP_MIN_S = 0.25;
    /** Most seconds of a point's untimed decode steps, settled or not. */
    static final double POINT_WARMUP_MAX_S = 3.0;
    /** Fewest seconds of each part of the warm-up before a model's first point (prefills, decode steps), per batch. */
    static final double WARMUP_MIN_S = 2.0;
    /** Most seconds of each part of the warm-up before a model's first point, settled or not. */
    static final double WARMUP_MAX_S = 10.0;
    /** Most warm-up decode steps per model and batch size. */
    static final int WARMUP_STEPS = 4000;
    /** Most warm-up prefills per model and batch size. */
    static final int WARMUP_PREFILLS = 50;
    /** Model label of the BASED stack. */
    static final String BASED = "based";
    /** Model label of the full-attention stack. */
    static final String ATTENTION = "attention";
    /** Phase label of prefill points. */
    static final String PREFILL = "prefill";
    /** Phase label of decode points. */
    static final String DECODE = "decode";

    private Tradeoff() {}

    /**
     * Tokens a point's decode appends to the state after its prefill: the untimed steps and every timed repeat. The
     * full-attention stack's KV cache holds {@code context + decodeTokens(...)}.
     */
    static int decodeTokens(int repeats, int decodeSteps) {
        return Math.addExact(POINT_WARMUP_STEPS, Math.multiplyExact(repeats, decodeSteps));
    }

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

    /**
     * What a run measures.
     *
     * @param size the stacks' shape
     * @param models which of {@link #BASED} and {@link #ATTENTION} to run, in that order
     * @param contexts context lengths, each at least 1, in the order they run
     * @param batches batch sizes, each at least 1, in the order they run
     * @param repeats timed repeats of every point, 1..{@link #MAX_REPEATS}
     * @param decodeSteps decode steps in one timed decode repeat, at least 1
     * @param seed seed of weights and inputs
     * @param weights how both stacks' matrices are stored (activations, states and sums stay float32)
     */
    record Sweep(Size size, List<String> models, List<Integer> contexts, List<Integer> batches, int repeats,
            int decodeSteps, long seed, WeightFormat weights) {
        /** A sweep of float32 weights. */
        Sweep(Size size, List<String> models, List<Integer> contexts, List<Integer> batches, int repeats,
                int decodeSteps, long seed) {
            this(size, models, contexts, batches, repeats, decodeSteps, seed, WeightFormat.F32);
        }

        /**
         * @throws IllegalArgumentException naming the field that is null, empty or out of range
         */
        Sweep {
            if (size == null) {
                throw new IllegalArgumentException("size: expected a stack shape, got null");
            }
            models = List.copyOf(nonEmpty("models", models));
            for (String m : models) {
                if (!m.equals(BASED) && !m.equals(ATTENTION)) {
                    throw new IllegalArgumentException("models: expected based and/or attention, got '" + m + "'");
                }
            }
            contexts = List.copyOf(nonEmpty("contexts", contexts));
            batches = List.copyOf(nonEmpty("batches", batches));
            for (int c : contexts) {
                if (c < 1) {
                    throw new IllegalArgumentException("contexts: expected values of at least 1, got " + c);
                }
            }
            for (int b : batches) {
                if (b < 1) {
                    throw new IllegalArgumentException("batches: expected values of at least 1, got " + b);
                }
            }
            if (repeats < 1 || repeats > MAX_REPEATS) {
                throw new IllegalArgumentException("repeats: expected 1.." + MAX_REPEATS + ", got " + repeats);
            }
            if (decodeSteps < 1) {
                throw new IllegalArgumentException("decodeSteps: expected at least 1, got " + decodeSteps);
            }
            if (weights == null) {
                throw new IllegalArgumentException("weights: expected a weight format, got null");
            }
        }

        private static <T> List<T> nonEmpty(String name, List<T> values) {
            if (values == null || values.isEmpty()) {
                throw new IllegalArgumentException(name + ": expected at least one value, got " + values);
            }
            return values;
        }

        /** @return the number of (model, context, batch) points */
        int points() {
            return models.size() * contexts.size() * batches.size();
        }
    }

    /**
     * The spread of one figure over a point's timed repeats.
     *
     * @param median the middle repeat's value (the mean of the two middle ones for an even count)
     * @param min the smallest
     * @param max the largest
     */
    record Spread(double median, double min, double max) {
        /**
         * @throws IllegalArgumentException when {@code values} is empty
         */
        static Spread of(double[] values) {
            if (values == null || values.length == 0) {
                throw new IllegalArgumentException("values: expected at least one value");
            }
            double[] sorted = values.clone();
            Arrays.sort(sorted);
            int n = sorted.length;
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            return new Spread(median, sorted[0], sorted[n - 1]);
        }
    }

    /**
     * One point of one phase: tokens/s of all sequences together and achieved GFLOP/s ({@link StackFlops}), each
     * over the timed repeats.
     *
     * @param phase {@link #PREFILL} or {@link #DECODE}
     * @param repeats timed repeats behind the spreads
     * @param flag why the point is not a result (faster than the machine can compute, {@link MachinePeak}, or refused
     *     by the backend), or null
     */
    record Measurement(String backend, String model, String phase, int batch, int context, int repeats,
            Spread tokensPerSecond, Spread gflops, String flag) {
        /** @return whether the point is flagged, and so not a result */
        boolean flagged() {
            return flag != null;
        }

        /**
         * @return this point, flagged when its fastest repeat's GFLOP/s exceeds {@code peakGflops}
         */
        Measurement checkedAgainst(double peakGflops) {
            if (gflops.max() <= peakGflops) {
                return this;
            }
            return new Measurement(backend, model, phase, batch, context, repeats, tokensPerSecond, gflops,
                    String.format(Locale.ROOT, "above measured FMA peak (%.1f GFLOP/s > %.1f)", gflops.max(),
                            peakGflops));
        }
    }

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
     * Runs the tradeoff, timing with {@link System#nanoTime()}.
     *
     * @return prefill and decode measurements, per model, context and batch in that order
     * @throws RunControl.Stopped when {@code control} was asked to stop; the listener has heard of every point
     *     finished before
     */
    static List<Measurement> run(Backend backend, Sweep sweep, Listener listener, RunControl control) {
        return run(backend, sweep, listener, control, System::nanoTime);
    }

    /**
     * As {@link #run(Backend, Sweep, Listener, RunControl)}, reading {@code clock} (nanoseconds) at the start and
     * end of every timed region, each time right after {@link Backend#synchronize()}, and nowhere else.
     */
    static List<Measurement> run(Backend backend, Sweep sweep, Listener listener, RunControl control,
            LongSupplier clock) {
        listener.started(sweep.points());
        Size size = sweep.size();
        List<Integer> batches = sweep.batches();
        int warmContext = Math.min(256, sweep.contexts().stream().mapToInt(Integer::intValue).min().orElse(256));
        Timer timer = new Timer(backend, clock);
        try (LayerStack based = LayerStack.random(backend, DType.F32, sweep.weights(), size.based(), sweep.seed())) {
            List<Measurement> out = new ArrayList<>();
            // each model is warmed up just before its own points: warming the other one in between would leave
            // shared code compiled for the other's shapes
            if (sweep.models().contains(BASED)) {
                warmUp(backend, based, warmContext, batches, sweep.seed(), control);
                for (int context : sweep.contexts()) {
                    for (int batch : batches) {
                        listener.point(BASED, context, batch);
                        out.addAll(pointOrRefusal(backend, BASED, context, batch, listener, () -> point(backend,
                                BASED, based, size.based(), context, batch, sweep, timer, listener, control)));
                    }
                }
            }
            if (sweep.models().contains(ATTENTION)) {
                try (LayerStack attention = LayerStack.random(backend, DType.F32, sweep.weights(),
                        size.attention(warmContext + WARMUP_STEPS), sweep.seed())) {
                    warmUp(backend, attention, warmContext, batches, sweep.seed(), control);
                }
                for (int context : sweep.contexts()) {
                    LayerStack.Config config = size.attention(
                            context + decodeTokens(sweep.repeats(), sweep.decodeSteps()));
                    try (LayerStack attention = LayerStack.random(backend, DType.F32, sweep.weights(), config, sweep.seed())) {
                        for (int batch : batches) {
                            listener.point(ATTENTION, context, batch);
                            out.addAll(pointOrRefusal(backend, ATTENTION, context, batch, listener, () -> point(
                                    backend, ATTENTION, attention, config, context, batch, sweep, timer, listener,
                                    control)));
                        }
                    }
                }
            }
            return out;
        }
    }

    /** Reads the clock once the backend has finished everything queued before. */
    private record Timer(Backend backend, LongSupplier clock) {
        long waitAndRead() {
            backend.synchronize();
            return clock.getAsLong();
        }
    }

    private static void warmUp(Backend backend, LayerStack stack, int context, List<Integer> batches, long seed,
            RunControl control) {
        for (int batch : batches) {
            control.check();
            try (Tensor x = hidden(backend, batch, context, stack.modelDim(), seed);
                    Tensor token = hidden(backend, batch, 1, stack.modelDim(), seed + 1);
                    LayerStack.State state = stack.newState(batch)) {
                settle(backend, () -> {
                    try (LayerStack.State fresh = stack.newState(batch)) {
                        stack.hidden(x, fresh, false).close();
                    }
                }, 2, WARMUP_PREFILLS, WARMUP_MIN_S, WARMUP_MAX_S, control);
                stack.hidden(x, state, false).close();
                try (HiddenPlan plan = stack.planHidden(state, token, true)) {
                    settle(backend, () -> steps(plan, WARMUP_BLOCK), 2, WARMUP_STEPS / WARMUP_BLOCK, WARMUP_MIN_S,
                            WARMUP_MAX_S, control);
                }
            }
        }
    }

    /**
     * Runs {@code block} until it is settled: its time (waited for) has not improved by more than
     * {@value #SETTLE_PERCENT} % for {@value #SETTLE_BLOCKS} blocks in a row; at least {@code minBlocks} and
     * {@code minSeconds}, at most {@code maxBlocks} or {@code maxSeconds}. None of it is a measurement.
     *
     * @return the blocks run
     */
    static int settle(Backend backend, Runnable block, int minBlocks, int maxBlocks, double minSeconds,
            double maxSeconds, RunControl control) {
        long start = System.nanoTime();
        long least = start + (long) (minSeconds * 1e9);
        long end = start + (long) (maxSeconds * 1e9);
        long best = Long.MAX_VALUE;
        int sinceGain = 0;
        int blocks = 0;
        while (blocks < maxBlocks && (blocks < minBlocks || System.nanoTime() < least
                || (sinceGain < SETTLE_BLOCKS && System.nanoTime() < end))) {
            control.check();
            backend.synchronize();
            long t0 = System.nanoTime();
            block.run();
            backend.synchronize();
            long t = System.nanoTime() - t0;
            blocks++;
            sinceGain = t < best * (1 - SETTLE_PERCENT / 100.0) ? 0 : sinceGain + 1;
            best = Math.min(best, t);
        }
        return blocks;
    }

    private static void steps(HiddenPlan plan, int n) {
        for (int i = 0; i < n; i++) {
            plan.step();
        }
    }

    /**
     * Runs a point; a point the backend refuses (a call beyond what it can allocate, an operation it does not
     * support) becomes two flagged measurements with its reason, and the run goes on with the next point.
     */
    private static List<Measurement> pointOrRefusal(Backend backend, String model, int context, int batch,
            Listener listener, java.util.function.Supplier<List<Measurement>> point) {
        try {
            return point.get();
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            String flag = "refused by the backend: " + e.getMessage();
            Spread none = new Spread(0, 0, 0);
            Measurement prefill = new Measurement(backend.name(), model, "prefill", batch, context, 0, none, none,
                    flag);
            Measurement decode = new Measurement(backend.name(), model, "decode", batch, context, 0, none, none, flag);
            listener.done(prefill, decode);
            return List.of(prefill, decode);
        }
    }

    private static List<Measurement> point(Backend backend, String model, LayerStack stack, LayerStack.Config config,
            int context, int batch, Sweep sweep, Timer timer, Listener listener, RunControl control) {
        String name = backend.name();
        int repeats = sweep.repeats();
        int steps = sweep.decodeSteps();
        try (Tensor x = hidden(backend, batch, context, stack.modelDim(), sweep.seed() + context);
                Tensor token = hidden(backend, batch, 1, stack.modelDim(), sweep.seed() + context + 1)) {
            // untimed at this exact shape first: a prefill of a new length allocates new intermediates and can make
            // the JIT recompile
            control.check();
            try (LayerStack.State warm = stack.newState(batch)) {
                stack.hidden(x, warm, false).close();
                backend.synchronize();
            }
            double prefillFlops = StackFlops.of(config, batch, 0, context);
            double[] prefillRate = new double[repeats];
            double[] prefillGflops = new double[repeats];
            LayerStack.State state = null;
            try {
                for (int r = 0; r < repeats; r++) {
                    control.check();
                    if (state != null) {
                        state.close();
                    }
                    state = stack.newState(batch);
                    long t0 = timer.waitAndRead();
                    Tensor y = stack.hidden(x, state, false);
                    long t1 = timer.waitAndRead();
                    y.close();
                    double seconds = seconds(t0, t1);
                    prefillRate[r] = (double) batch * context / seconds;
                    prefillGflops[r] = prefillFlops / seconds * 1e-9;
                }
                Measurement prefill = new Measurement(name, model, PREFILL, batch, context, repeats,
                        Spread.of(prefillRate), Spread.of(prefillGflops), null);

                double[] decodeRate = new double[repeats];
                double[] decodeGflops = new double[repeats];
                try (HiddenPlan plan = stack.planHidden(state, token, true)) {
                    int warm = WARMUP_BLOCK * settle(backend, () -> steps(plan, WARMUP_BLOCK), 1,
                            POINT_WARMUP_STEPS / WARMUP_BLOCK, POINT_WARMUP_MIN_S, POINT_WARMUP_MAX_S, control);
                    long position = (long) context + warm;
                    for (int r = 0; r < repeats; r++) {
                        control.check();
                        double flops = 0;
                        for (int i = 0; i < steps; i++) {
                            flops += StackFlops.of(config, batch, position + i, 1);
                        }
                        long t0 = timer.waitAndRead();
                        steps(plan, steps);
                        long t1 = timer.waitAndRead();
                        position += steps;
                        double seconds = seconds(t0, t1);
                        decodeRate[r] = (double) batch * steps / seconds;
                        decodeGflops[r] = flops / seconds * 1e-9;
                    }
                }
                Measurement decode = new Measurement(name, model, DECODE, batch, context, repeats,
                        Spread.of(decodeRate), Spread.of(decodeGflops), null);
                listener.done(prefill, decode);
                return List.of(prefill, decode);
            } finally {
                if (state != null) {
                    state.close();
                }
            }
        }
    }

    /** @return the seconds between two clock readings, at least one nanosecond */
    private static double seconds(long t0, long t1) {
        return Math.max(1, t1 - t0) * 1e-9;
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
