package dev.based4j.examples;

import dev.based4j.Backend;
import dev.based4j.layer.DecodePlan;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedModel;
import dev.based4j.tensor.Tensor;
import java.util.Locale;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The command line's warm-up: a short prefill and a few planned decode steps of a layer stack on a scratch state of
 * its own, run before the calls a user sees or times. A JVM compiles the kernels while the first calls run them, and
 * until it has, they run many times slower; the launcher's warm-start cache (the JDK's ahead-of-time cache) carries
 * loaded classes and method profiles from one run to the next, but no compiled code, so every run compiles the
 * kernels again. The warm-up makes that happen before the first prefill and decode the user waits on.
 *
 * <p>It changes no result: the scratch state is made for the warm-up and closed after it, the stack's weights are
 * only read, and the prompt and sampling of the user's run are untouched (the CPU kernels also give the same bits
 * before and after the JIT compiles them). It does not make the run shorter: it moves the compilation before the
 * user's calls, which is why the commands print its time.
 */
final class WarmUp {
    /**
     * Most tokens the warm-up prefills: past the CPU backend's switch from quadratic to chunked linear attention
     * (about 380 tokens with the demo's shapes), so that a long prompt's first prefill runs code the warm-up compiled.
     */
    static final int MAX_PREFILL_TOKENS = 512;

    /** Most planned decode steps the warm-up runs: the plan's recording step and the first replays. */
    static final int MAX_DECODE_STEPS = 8;

    private WarmUp() {
    }

    /**
     * What a warm-up ran and how long it took.
     *
     * @param prefillTokens tokens prefilled on the scratch state
     * @param decodeSteps planned decode steps run after that prefill
     * @param seconds wall time of the whole warm-up, queued device work included
     */
    record Result(int prefillTokens, int decodeSteps, double seconds) {
        /** @return what ran and its time, e.g. "prefill 512 tokens and 8 planned decode steps on a scratch state: 3.36 s" */
        String describe() {
            return String.format(Locale.ROOT, "prefill %d token%s and %d planned decode step%s on a scratch state:"
                    + " %.2f s", prefillTokens, prefillTokens == 1 ? "" : "s", decodeSteps, decodeSteps == 1 ? "" : "s",
                    seconds);
        }
    }

    /**
     * Prefills {@code prefillTokens} seeded token ids on a new state of batch 1, then runs {@code decodeSteps} steps of
     * a decode plan of that state, and closes both.
     *
     * @param stack the stack the user's calls will run (its weights are read, never written)
     * @param prefillTokens tokens to prefill, 1..{@value #MAX_PREFILL_TOKENS}
     * @param decodeSteps planned decode steps, 0..{@value #MAX_DECODE_STEPS}
     * @param control the run, asked between steps whether to stop
     * @return what ran and its wall time
     * @throws IllegalArgumentException naming the parameter when a count is out of range
     * @throws RunControl.Stopped when the run was asked to stop
     */
    static Result run(LayerStack stack, int prefillTokens, int decodeSteps, RunControl control) {
        return run(new Target(stack.backend(), stack.vocabSize(), () -> stack.newState(1), stack::prefillLast,
                stack::planDecode), prefillTokens, decodeSteps, control);
    }

    /**
     * {@link #run(LayerStack, int, int, RunControl)} through a model, whose state and prefill are checked against
     * the host-memory budget as generation's are.
     *
     * @param model the model the user's generation will run (its weights are read, never written)
     */
    static Result run(BasedModel model, int prefillTokens, int decodeSteps, RunControl control) {
        return run(new Target(model.backend(), model.stack().vocabSize(), () -> model.newState(1), model::prefillLast,
                model::planDecode), prefillTokens, decodeSteps, control);
    }

    /** What the warm-up calls: a stack's or a model's own entry points. */
    private record Target(Backend backend, int vocab, Supplier<LayerStack.State> newState, Prefill prefillLast,
            Function<LayerStack.State, DecodePlan> planDecode) {}

    /** {@link LayerStack#prefillLast} or {@link BasedModel#prefillLast}. */
    @FunctionalInterface
    private interface Prefill {
        Tensor apply(int[] ids, int batch, int seq, LayerStack.State state);
    }

    private static Result run(Target target, int prefillTokens, int decodeSteps, RunControl control) {
        if (prefillTokens < 1 || prefillTokens > MAX_PREFILL_TOKENS) {
            throw new IllegalArgumentException("prefillTokens: expected 1.." + MAX_PREFILL_TOKENS + ", got "
                    + prefillTokens);
        }
        if (decodeSteps < 0 || decodeSteps > MAX_DECODE_STEPS) {
            throw new IllegalArgumentException("decodeSteps: expected 0.." + MAX_DECODE_STEPS + ", got " + decodeSteps);
        }
        if (control.stopRequested()) {
            throw control.stopped("during the warm-up, before the first call");
        }
        Random ids = new Random(prefillTokens);
        long t0 = System.nanoTime();
        try (LayerStack.State scratch = target.newState().get()) {
            try (Tensor logits = target.prefillLast().apply(ids.ints(prefillTokens, 0, target.vocab()).toArray(), 1,
                    prefillTokens, scratch)) {
                target.backend().synchronize();
            }
            if (decodeSteps > 0) {
                try (DecodePlan plan = target.planDecode().apply(scratch)) {
                    for (int i = 0; i < decodeSteps; i++) {
                        if (control.stopRequested()) {
                            throw control.stopped("during the warm-up, before the first call");
                        }
                        // the step's logits belong to the plan; reading them back is part of every step a user sees
                        target.backend().download(plan.step(new int[] {ids.nextInt(target.vocab())}));
                    }
                }
            }
        }
        return new Result(prefillTokens, decodeSteps, (System.nanoTime() - t0) / 1e9);
    }
}
