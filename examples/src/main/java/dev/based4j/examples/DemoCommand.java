package dev.based4j.examples;

import dev.based4j.Backends;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.DecodePlan;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.WeightFormat;
import java.io.PrintWriter;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code based4j demo}: the main job on the embedded default. Builds a small BASED layer stack with seeded random
 * weights (BaseConv, linear attention and sliding-window layers interleaved as in the released models), prefills
 * a long prompt, samples tokens with the state carried over from prefill, and reports tokens/s. It then
 * shows that the carried state is exact: the logits of the first decoded token equal those of a fresh prefill of
 * the prompt plus that token. Unless {@code --no-warm-up}, a {@link WarmUp} on a scratch state runs (and is timed)
 * before the first timed call, so that the cold figures show the calls after it rather than the JIT's compilation.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Prefill a long prompt and decode tokens through a small BASED layer stack with seeded weights.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--backend", description = "Backend name (default: configuration, else highest priority usable).")
    String backendName;

    @Option(names = "--dtype", defaultValue = "f32", description = "f32 or f64 (default: ${DEFAULT-VALUE}).")
    String dtypeName;

    @Option(names = "--weights", paramLabel = "FORMAT", description = "How the matrices are stored: f32, f64, bf16,"
            + " f16, int8 or int8-g<N> (default: --dtype).")
    String weightsName;

    @Option(names = "--prompt-tokens", defaultValue = "2048", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--decode-tokens", defaultValue = "64", description = "Tokens to decode (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of weights and prompt (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--warm-up", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Before the timed calls, prefill up to " + WarmUp.MAX_PREFILL_TOKENS + " tokens and run up to "
                    + WarmUp.MAX_DECODE_STEPS + " planned decode steps on a scratch state, so that the JIT has compiled"
                    + " the kernels they run; its time is printed (default: on; --no-warm-up times the run's very"
                    + " first calls).")
    boolean warmUp;

    static final int D_MODEL = 256;
    static final int HEADS = 4;
    static final int FEATURE_DIM = 16;
    static final int LOOKBACK = 64;
    static final int VOCAB = 4096;
    static final int LAYERS = 6;
    static final double TEMPERATURE = 1.0;

    /** The demo's stack, interleaved like the released models (BaseConv, linear attention, sliding window). */
    static LayerStack.Config stackConfig() {
        return LayerStack.Config.based(VOCAB, D_MODEL, LAYERS, HEADS, FEATURE_DIM, LOOKBACK);
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (promptTokens < 1 || promptTokens > 1 << 20) {
            throw new Based4j.UserError("--prompt-tokens: expected 1..1048576, got " + promptTokens);
        }
        if (decodeTokens < 1 || decodeTokens > 1 << 16) {
            throw new Based4j.UserError("--decode-tokens: expected 1..65536, got " + decodeTokens);
        }
        DType dtype = Based4j.computeType(dtypeName);
        WeightFormat given = GenerateCommand.weightFormat(weightsName, dtype);
        WeightFormat format = given != null ? given : WeightFormat.of(dtype);
        LayerStack.Config config = stackConfig();
        // prefill returns the logits of every prompt position, [1, n, vocab], and the check prefills n + 1 again
        MemoryBudget.current().check("--prompt-tokens " + promptTokens + " in " + dtype.label(), java.util.List.of(
                MemoryBudget.Need.offHeap("weights", StackMemory.weights(config, dtype, format)),
                MemoryBudget.Need.offHeap("prefill activations and logits [1, " + (promptTokens + 1L) + ", " + VOCAB
                        + "]", StackMemory.prefillActivations(config, 1, promptTokens + 1L, dtype)),
                MemoryBudget.Need.offHeap("logits downloaded to the host",
                        MemoryBudget.times(promptTokens + 1L, VOCAB, dtype.byteSize())),
                MemoryBudget.Need.heap("prompt and generated ids", MemoryBudget.times(2L * promptTokens + decodeTokens,
                        4))));
        RunControl control = RunControl.current();
        int[] prompt = new Random(seed).ints(promptTokens, 0, VOCAB).toArray();
        try (Backend backend = backendName == null ? Backends.select() : Backends.select(backendName);
                LayerStack stack = LayerStack.random(backend, dtype, format, config, seed)) {
            out.printf("backend   %s on %s, %s%s%n", backend.name(), backend.device(), dtype.label(),
                    format.isReduced() ? ", " + format.label() + " weights (" + MemoryBudget.format(
                            StackMemory.weights(config, dtype, format)) + " against " + MemoryBudget.format(
                                    StackMemory.weights(config, dtype)) + " in " + dtype.label() + ")" : "");
            out.printf("model     %d layers, d_model %d, %d heads; %s%n", LAYERS, D_MODEL, HEADS, describe(config));
            out.printf("          seeded random weights (seed %d), vocabulary %d%n", seed, VOCAB);
            if (warmUp) {
                WarmUp.Result w = WarmUp.run(stack, Math.min(promptTokens, WarmUp.MAX_PREFILL_TOKENS),
                        Math.min(decodeTokens, WarmUp.MAX_DECODE_STEPS), control);
                out.printf("warm-up   %s (before the first timed call; --no-warm-up skips it)%n", w.describe());
            }

            int[] generated = new int[decodeTokens];
            double[] firstDecodeLogits = null;
            double prefillCold;
            double prefillWarm;
            long stateBytesAfterPrefill;
            long stateBytesAfterDecode;
            // decode steps: the first COLD_STEPS as the run starts them, the rest once the plan and the JIT are warm
            double[] stepSeconds = new double[decodeTokens];
            try (LayerStack.State state = stack.newState(1)) {
                HostTensor promptLogits;
                long t0 = System.nanoTime();
                try (Tensor logits = stack.prefillLast(prompt, 1, promptTokens, state)) {
                    backend.synchronize();
                    prefillCold = (System.nanoTime() - t0) / 1e9;
                    promptLogits = backend.download(logits);
                }
                prefillWarm = warmPrefill(backend, stack, prompt, control);
                stateBytesAfterPrefill = stateBytes(state);
                Random sampler = new Random(seed);
                int next = sample(promptLogits.toDoubleArray(), sampler);
                try (DecodePlan plan = stack.planDecode(state)) {
                    for (int i = 0; i < decodeTokens; i++) {
                        if (control.stopRequested()) {
                            throw control.stopped("after " + i + " of " + decodeTokens + " decoded tokens");
                        }
                        generated[i] = next;
                        long t1 = System.nanoTime();
                        double[] row = backend.download(plan.step(new int[] {next})).toDoubleArray();
                        stepSeconds[i] = (System.nanoTime() - t1) / 1e9;
                        if (i == 0) {
                            firstDecodeLogits = row;
                        }
                        next = sample(row, sampler);
                    }
                }
                stateBytesAfterDecode = stateBytes(state);
            }
            double decodeSeconds = java.util.Arrays.stream(stepSeconds).sum();
            int cold = Math.min(COLD_STEPS, decodeTokens);
            double coldMs = 1e3 * java.util.Arrays.stream(stepSeconds, 0, cold).sum() / cold;
            out.printf("prefill   %d tokens: cold (%s) %.3f s, %,.0f tokens/s; warm %.3f s, %,.0f"
                    + " tokens/s (cold = %.0f%% of warm)%n", promptTokens,
                    warmUp ? "the first call after the warm-up" : "the run's first call", prefillCold,
                    promptTokens / prefillCold,
                    prefillWarm, promptTokens / prefillWarm, 100 * prefillWarm / prefillCold);
            if (decodeTokens > cold) {
                double warmMs = 1e3 * java.util.Arrays.stream(stepSeconds, cold, decodeTokens).sum() / (decodeTokens - cold);
                out.printf("decode    %d tokens in %.3f s through a planned step: first %d %.2f ms/token (cold), the"
                        + " rest %.2f ms/token, %,.0f tokens/s (warm; cold = %.0f%% of warm), sampled at temperature"
                        + " %.1f%n", decodeTokens, decodeSeconds, cold, coldMs, warmMs, 1e3 / warmMs,
                        100 * warmMs / coldMs, TEMPERATURE);
            } else {
                out.printf("decode    %d tokens in %.3f s through a planned step: %.2f ms/token (cold), sampled at"
                        + " temperature %.1f%n", decodeTokens, decodeSeconds, coldMs, TEMPERATURE);
            }
            out.printf("tokens    %s%n", preview(generated));
            out.printf("          (random weights give peaked logits, so sampled tokens often repeat)%n");
            out.printf("state     %,d bytes after prefill, %,d bytes after %d more tokens (fixed size)%n",
                    stateBytesAfterPrefill, stateBytesAfterDecode, decodeTokens);

            // The state carried from prefill into decode is exact: decoding token n+1 after prefill(n) gives the
            // logits that a fresh prefill of n+1 tokens gives at its last position.
            int[] extended = java.util.Arrays.copyOf(prompt, promptTokens + 1);
            extended[promptTokens] = generated[0];
            double[] full;
            try (LayerStack.State fresh = stack.newState(1);
                    Tensor logits = stack.prefillLast(extended, 1, promptTokens + 1, fresh)) {
                full = backend.download(logits).toDoubleArray();
            }
            double err = relativeError(firstDecodeLogits, full);
            out.printf("carried   decode after prefill(%d) vs prefill(%d): max relative difference %.2e%n",
                    promptTokens, promptTokens + 1, err);
            double tolerance = dtype == DType.F64 ? 1e-9 : 1e-4;
            if (err > tolerance) {
                spec.commandLine().getErr().printf("based4j: decode did not continue exactly where prefill stopped "
                        + "(%.2e > %.0e)%n", err, tolerance);
                return 1;
            }

            // The same path as `based4j generate --tiny-seed`: a whole BASED model (embedding, blocks, tied head)
            // built from a seed, generating with the Generator's sampling.
            try (BasedModel tiny = BasedModel.random(backend, BasedConfig.tiny(), seed, dtype, format)) {
                int[] tinyPrompt = new Random(seed).ints(12, 0, BasedConfig.tiny().vocabSize()).toArray();
                Generator.Result r = new Generator(tiny).generate(tinyPrompt,
                        GenerationOptions.greedy(16).withTemperature(0.8).withTopK(20).withSeed(seed), null, null);
                out.printf("generate  tiny seeded BASED model (%d layers, d_model %d): prompt %s -> %s%n",
                        BasedConfig.tiny().layerCount(), BasedConfig.tiny().modelDim(), preview(tinyPrompt),
                        preview(r.tokens().get(0)));
            }
            return 0;
        }
    }

    /** Decode steps counted as cold: the plan's recording and the first replays, while the JIT compiles them. */
    static final int COLD_STEPS = 8;

    /** Prefill runs after the first, from fresh states, whose median is the warm figure. */
    static final int WARM_PREFILLS = 3;

    /** @return the median seconds of {@link #WARM_PREFILLS} more prefills of {@code prompt}, each on a fresh state */
    private static double warmPrefill(Backend backend, LayerStack stack, int[] prompt, RunControl control) {
        double[] seconds = new double[WARM_PREFILLS];
        for (int i = 0; i < seconds.length; i++) {
            if (control.stopRequested()) {
                throw control.stopped("while timing the warm prefill");
            }
            try (LayerStack.State fresh = stack.newState(1)) {
                long t0 = System.nanoTime();
                stack.prefillLast(prompt, 1, prompt.length, fresh).close();
                backend.synchronize();
                seconds[i] = (System.nanoTime() - t0) / 1e9;
            }
        }
        java.util.Arrays.sort(seconds);
        return seconds[seconds.length / 2];
    }

    private static String describe(LayerStack.Config config) {
        int la = 0;
        int swa = 0;
        int conv = 0;
        for (MixerConfig m : config.mixers()) {
            if (m instanceof LinearAttentionLayer.Config) {
                la++;
            } else if (m instanceof SlidingWindowLayer.Config) {
                swa++;
            } else {
                conv++;
            }
        }
        return la + " linear attention (Taylor f=" + FEATURE_DIM + "), " + swa + " sliding window (lookback "
                + LOOKBACK + "), " + conv + " BaseConv";
    }

    private static long stateBytes(LayerStack.State state) {
        long total = 0;
        for (RecurrentState s : state.layers()) {
            total += s.sizeInBytes();
        }
        return total;
    }

    /** Softmax sampling at {@link #TEMPERATURE}, seeded, so the run is reproducible. */
    static int sample(double[] logits, Random random) {
        double max = Double.NEGATIVE_INFINITY;
        for (double l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp((logits[i] - max) / TEMPERATURE);
            sum += p[i];
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < p.length; i++) {
            u -= p[i];
            if (u <= 0) {
                return i;
            }
        }
        return p.length - 1;
    }

    private static double relativeError(double[] a, double[] ref) {
        double maxDiff = 0;
        double maxRef = 1;
        for (int i = 0; i < ref.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        return maxDiff / maxRef;
    }

    private static String preview(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(16, ids.length); i++) {
            sb.append(i == 0 ? "" : " ").append(ids[i]);
        }
        return ids.length > 16 ? sb + " ..." : sb.toString();
    }
}
