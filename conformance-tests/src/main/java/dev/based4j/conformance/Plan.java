package dev.based4j.conformance;

import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * How a sequence is fed to an attention kernel: one prefill, prefill then prefill, prefill then decode steps.
 * Every plan must give the same output and state as one prefill of the whole sequence.
 *
 * @param steps consecutive token ranges, each a prefill or a decode step (one token)
 */
record Plan(List<Step> steps) {
    /** Tokens {@code [from, from + tokens)}, as a prefill or (tokens = 1) as a decode step. */
    record Step(int from, int tokens, boolean decode) {}

    static Plan whole(int seq) {
        return new Plan(List.of(new Step(0, seq, false)));
    }

    static Plan prefillThenPrefill(int first, int seq) {
        return new Plan(List.of(new Step(0, first, false), new Step(first, seq - first, false)));
    }

    /** Prefill of {@code first} tokens (none when 0), then one decode step per remaining token. */
    static Plan prefillThenDecode(int first, int seq) {
        List<Step> steps = new ArrayList<>();
        if (first > 0) {
            steps.add(new Step(0, first, false));
        }
        for (int t = first; t < seq; t++) {
            steps.add(new Step(t, 1, true));
        }
        return new Plan(List.copyOf(steps));
    }

    int length() {
        Step last = steps.get(steps.size() - 1);
        return last.from() + last.tokens();
    }

    /** @return the plan in words, for test names */
    String describe() {
        if (steps.size() == 1) {
            return "one prefill";
        }
        Step first = steps.get(0);
        long decodes = steps.stream().filter(Step::decode).count();
        if (decodes == steps.size()) {
            return decodes + " decode steps from an empty state";
        }
        if (decodes > 0) {
            return "prefill of " + first.tokens() + " then " + decodes + " decode steps";
        }
        return "prefill of " + first.tokens() + " then prefill of " + steps.get(1).tokens();
    }

    boolean isWhole() {
        return steps.size() == 1;
    }

    /** A kernel of the surface, prefill or decode. */
    @FunctionalInterface
    interface Kernel<S extends RecurrentState> {
        void call(Backend backend, Tensor q, Tensor k, Tensor v, S state, Tensor out, boolean decode);
    }

    /**
     * Runs the plan on the session's backend: uploads each step's slice of q, k, v (as checked inputs), poisons
     * its output, calls the kernel and gathers the outputs.
     *
     * @return the whole output {@code [batch, heads, seq, dv]}
     */
    <S extends RecurrentState> double[] run(CheckSession s, double[] q, double[] k, double[] v, int batch, int heads,
            int keyDim, int valueDim, S state, Kernel<S> kernel) {
        double[] out = new double[batch * heads * length() * valueDim];
        runSteps(s, s.backend(), 0, steps.size(), q, k, v, batch, heads, keyDim, valueDim, state, kernel, out);
        return out;
    }

    /** Runs steps {@code [fromStep, toStep)} on {@code on}, writing their outputs into {@code out}. */
    <S extends RecurrentState> void runSteps(CheckSession s, Backend on, int fromStep, int toStep, double[] q,
            double[] k, double[] v, int batch, int heads, int keyDim, int valueDim, S state, Kernel<S> kernel,
            double[] out) {
        int seq = length();
        int rows = batch * heads;
        for (Step st : steps.subList(fromStep, toStep)) {
            int n = st.tokens();
            int to = st.from() + n;
            Tensor tq = s.input(on, "q", Inputs.tokens(q, rows, seq, keyDim, st.from(), to),
                    Shape.of(batch, heads, n, keyDim));
            Tensor tk = s.input(on, "k", Inputs.tokens(k, rows, seq, keyDim, st.from(), to),
                    Shape.of(batch, heads, n, keyDim));
            Tensor tv = s.input(on, "v", Inputs.tokens(v, rows, seq, valueDim, st.from(), to),
                    Shape.of(batch, heads, n, valueDim));
            Tensor o = s.poisoned(on, Shape.of(batch, heads, n, valueDim));
            long before = state.position();
            kernel.call(on, tq, tk, tv, state, o, st.decode());
            s.expect(state.position() == before + n, "state position after " + (st.decode() ? "decode" : "prefill")
                    + " of " + n + " token(s) from " + before + " is " + state.position() + ", expected "
                    + (before + n));
            Inputs.place(s.download(o), out, rows, seq, valueDim, st.from(), n);
        }
    }
}
