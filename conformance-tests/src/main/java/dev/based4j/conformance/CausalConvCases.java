package dev.based4j.conformance;

import dev.based4j.reference.Reference;
import dev.based4j.Operation;
import dev.based4j.state.ConvState;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;

/** The causal depthwise convolution of BaseConv with its shift-register state against {@link Reference}. */
final class CausalConvCases {
    private CausalConvCases() {}

    private record Dims(int batch, int seq, int channels, int kernel) {
        String text() {
            return "batch " + batch + ", seq " + seq + ", channels " + channels + ", kernel " + kernel;
        }
    }

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.CAUSAL_CONV, "causal-conv", 5000);
        String conv = "causal convolution matches the float64 reference";
        add(list, conv + " for a single token", new Dims(1, 1, 8, 3), new int[] {1});
        add(list, conv + " when seq < kernel (zeros before the first token)", new Dims(2, 2, 8, 3), new int[] {2});
        add(list, conv + " with batch and channels", new Dims(2, 7, 16, 3), new int[] {7});
        add(list, conv + " with kernel 4", new Dims(1, 9, 8, 4), new int[] {9});
        add(list, conv + " with kernel 1 (no history)", new Dims(1, 5, 8, 1), new int[] {5});
        add(list, "causal convolution steps one token at a time after a prefill", new Dims(2, 7, 8, 3),
                new int[] {2, 1, 1, 1, 1, 1});
        add(list, "causal convolution prefill continues from a non-empty state", new Dims(1, 10, 12, 3),
                new int[] {4, 6});
        add(list, "causal convolution single steps from an empty state equal prefill", new Dims(1, 5, 4, 3),
                new int[] {1, 1, 1, 1, 1});
        return list.cases();
    }

    private static void add(CaseList list, String description, Dims d, int[] pieces) {
        String plan = pieces.length == 1 ? "" : ", in calls of " + java.util.Arrays.toString(pieces) + " tokens";
        list.both(description, "causalConv", d.text() + plan, Requirement.needs(Operation.CAUSAL_CONV), false,
                (s, seed) -> check(s, seed, d, pieces));
    }

    private static void check(CheckSession s, long seed, Dims d, int[] pieces) {
        int b = d.batch();
        int l = d.seq();
        int c = d.channels();
        int k = d.kernel();
        Inputs gen = new Inputs(seed);
        double[] x = gen.gaussian(b * l * c, 1);
        double[] w = gen.gaussian(c * k, 0.5);
        double[] window = new double[b * c * k];
        double[] ref = Reference.causalConv(x, b, l, c, w, k, window);
        Tensor weight = s.input("weight", w, Shape.of(c, k));
        ConvState state = s.own(ConvState.zeros(s.backend(), b, c, k, s.dtype()));
        double[] out = new double[b * l * c];
        int from = 0;
        for (int n : pieces) {
            Tensor in = s.input("x", Inputs.tokens(x, b, l, c, from, from + n), Shape.of(b, n, c));
            Tensor o = s.poisoned(Shape.of(b, n, c));
            long before = state.position();
            s.backend().causalConv(in, weight, state, o);
            s.expect(state.position() == before + n, "state position after " + n + " token(s) from " + before + " is "
                    + state.position());
            Inputs.place(s.download(o), out, b, l, c, from, n);
            from += n;
        }
        s.compare("y", out, ref, Tolerances.Kind.SINGLE);
        s.compare("state.window", state.window(), window, Tolerances.Kind.SINGLE);
    }
}
