package dev.based4j.conformance.hardening;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.layer.LayerStack;
import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.StateSnapshot;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * Faults on a real backend: a kernel that fails after it has computed (a device error reported at the end, injected
 * by {@link FaultInjection}, a decorator of the backend's engine) must leave the caller's state bit-identical and its
 * position unchanged, say what failed, and leave the backend usable: the next call gives exactly what a twin that
 * never failed gives. The same holds one level up, for a whole stack's decode step. An allocation far beyond any
 * device's memory must fail with a message and leave the backend usable.
 */
public final class FaultCheck {
    private FaultCheck() {}

    /**
     * What a run saw.
     *
     * @param backend the backend's name
     * @param checked fault scenarios run
     * @param problems what went wrong (empty when all held)
     * @param hugeAllocation how the absurd allocation was refused
     */
    public record Report(String backend, int checked, List<String> problems, String hugeAllocation) {
        /** @return whether every scenario held */
        public boolean passed() {
            return problems.isEmpty();
        }

        /** @return one line with the figures */
        public String summary() {
            return backend + ": " + checked + " fault scenarios, " + problems.size() + " problems"
                    + (problems.isEmpty() ? "" : " " + problems) + "; 4 TiB allocation refused with: " + hugeAllocation;
        }
    }

    /** One state kernel under test: makes its state, runs one call on it. */
    private record Scenario(String name, Operation op, java.util.function.Function<Backend, RecurrentState> state,
            BiFunction<Backend, RecurrentState, Tensor> call) {}

    /** Runs every scenario the backend's capabilities allow; the backend stays open. */
    public static Report run(Backend backend, long seed) {
        DType dtype = backend.capabilities().precisions().contains(DType.F32) ? DType.F32
                : backend.capabilities().precisions().iterator().next();
        List<String> problems = new ArrayList<>();
        int checked = 0;
        FaultInjection.Faulty faulty;
        try {
            faulty = FaultInjection.around(backend);
        } catch (IllegalArgumentException e) {
            faulty = null;
            problems.add("faults cannot be injected, so state restore is not checked: " + e.getMessage());
        }
        if (faulty != null) {
            try (Backend b = faulty.backend(); Inputs in = new Inputs(b, dtype, seed)) {
                for (Scenario s : scenarios(in, dtype)) {
                    if (!b.capabilities().supports(s.op, dtype)) {
                        continue;
                    }
                    checked++;
                    stateKernel(b, faulty.faults(), s, problems);
                }
                if (b.capabilities().runsModels()) {
                    checked++;
                    stack(b, faulty.faults(), dtype, seed, problems);
                }
            }
        }
        checked++;
        String huge = hugeAllocation(backend, dtype, problems);
        return new Report(backend.name(), checked, List.copyOf(problems), huge);
    }

    private static List<Scenario> scenarios(Inputs in, DType dtype) {
        LinearAttentionSpec la = LinearAttentionSpec.of(new Taylor(4));
        SlidingWindowSpec sw = SlidingWindowSpec.of(2);
        BasedAttentionSpec ba = BasedAttentionSpec.of(new Taylor(4), 1);
        return List.of(
                new Scenario("linearAttentionDecode", Operation.LINEAR_ATTENTION,
                        b -> LinearAttentionState.zeros(b, 1, 2, la.expandedDim(), 3, dtype),
                        (b, st) -> b.linearAttentionDecode(la, in.q1, in.k1, in.v1, (LinearAttentionState) st)),
                new Scenario("linearAttentionPrefill", Operation.LINEAR_ATTENTION,
                        b -> LinearAttentionState.zeros(b, 1, 2, la.expandedDim(), 3, dtype),
                        (b, st) -> b.linearAttentionPrefill(la, in.q3, in.k3, in.v3, (LinearAttentionState) st)),
                new Scenario("slidingWindowDecode", Operation.SLIDING_WINDOW,
                        b -> WindowState.empty(b, 1, 2, 4, 3, 2, dtype),
                        (b, st) -> b.slidingWindowDecode(sw, in.q1, in.k1, in.v1, (WindowState) st)),
                new Scenario("basedAttentionDecode", Operation.BASED_ATTENTION,
                        b -> BasedAttentionState.empty(b, 1, 2, 4, ba.featureMap().outputDim(), 3, 1, dtype),
                        (b, st) -> b.basedAttentionDecode(ba, in.q1, in.k1, in.v1, (BasedAttentionState) st)),
                new Scenario("basedAttentionPrefill", Operation.BASED_ATTENTION,
                        b -> BasedAttentionState.empty(b, 1, 2, 4, ba.featureMap().outputDim(), 3, 1, dtype),
                        (b, st) -> b.basedAttentionPrefill(ba, in.q3, in.k3, in.v3, (BasedAttentionState) st)),
                new Scenario("causalConv", Operation.CAUSAL_CONV, b -> ConvState.zeros(b, 1, 6, 3, dtype),
                        (b, st) -> b.causalConv(in.x, in.w, (ConvState) st)));
    }

    private static void stateKernel(Backend b, FaultInjection faults, Scenario s, List<String> problems) {
        try (RecurrentState st = s.state.apply(b);
                RecurrentState twin = s.state.apply(b)) {
            for (int i = 0; i < 2; i++) {
                s.call.apply(b, st).close();
                s.call.apply(b, twin).close();
            }
            StateSnapshot before = st.snapshot();
            faults.arm(1);
            RuntimeException thrown = null;
            try {
                s.call.apply(b, st).close();
            } catch (RuntimeException e) {
                thrown = e;
            } finally {
                faults.arm(0);
            }
            if (thrown == null || thrown.getMessage() == null || !thrown.getMessage().contains(s.name)) {
                problems.add(s.name + ": an injected fault was not reported as a failure of " + s.name + " (got "
                        + thrown + ")");
                return;
            }
            if (!sameBits(before, st.snapshot())) {
                problems.add(s.name + ": the state changed although the kernel failed");
                return;
            }
            try (Tensor y = s.call.apply(b, st);
                    Tensor expected = s.call.apply(b, twin)) {
                if (!Arrays.equals(b.download(y).toDoubleArray(), b.download(expected).toDoubleArray())
                        || !sameBits(st.snapshot(), twin.snapshot())) {
                    problems.add(s.name + ": after the failure, the next call differs from a twin state's");
                }
            }
        } catch (RuntimeException e) {
            problems.add(s.name + ": " + e);
        }
    }

    private static void stack(Backend b, FaultInjection faults, DType dtype, long seed, List<String> problems) {
        LayerStack.Config config = LayerStack.Config.based(32, 16, 3, 2, 4, 2);
        try (LayerStack stack = LayerStack.random(b, dtype, config, seed);
                LayerStack.State state = stack.newState(1);
                LayerStack.State twin = stack.newState(1)) {
            for (int t = 0; t < 3; t++) {
                stack.decode(new int[] {t}, state).close();
                stack.decode(new int[] {t}, twin).close();
            }
            faults.arm(1);
            try {
                stack.decode(new int[] {5}, state).close();
                problems.add("stack decode: an injected fault was not reported");
            } catch (IllegalStateException e) {
                // expected: the first layer's kernel failed
            } finally {
                faults.arm(0);
            }
            if (state.position() != 3 || state.layers().stream().anyMatch(l -> l.position() != 3)) {
                problems.add("stack decode: positions moved although the step failed");
            }
            try (Tensor y = stack.decode(new int[] {5}, state);
                    Tensor expected = stack.decode(new int[] {5}, twin)) {
                if (!Arrays.equals(b.download(y).toDoubleArray(), b.download(expected).toDoubleArray())) {
                    problems.add("stack decode: after the failure, the next step differs from a twin state's");
                }
            }
        } catch (RuntimeException e) {
            problems.add("stack decode: " + e);
        }
    }

    private static String hugeAllocation(Backend b, DType dtype, List<String> problems) {
        String how;
        try {
            b.allocate(Shape.of(1 << 20, 1 << 20), dtype).close();
            problems.add("allocating 2^40 elements succeeded");
            how = "accepted";
        } catch (RuntimeException | OutOfMemoryError e) {
            how = e.getClass().getSimpleName() + ": " + e.getMessage();
            if (e.getMessage() == null || e.getMessage().isBlank()) {
                problems.add("allocating 2^40 elements failed without saying why: " + e);
            }
        }
        try (Tensor t = b.allocate(Shape.of(4), dtype);
                Tensor u = b.upload(HostTensor.of(new double[] {1, 2, 3, 4}, Shape.of(4), dtype))) {
            if (b.capabilities().supports(Operation.PLUMBING, dtype)) {
                b.add(u, u, t);
                if (!Arrays.equals(b.download(t).toDoubleArray(), new double[] {2, 4, 6, 8})) {
                    problems.add("after the refused allocation, 1+1 is no longer 2");
                }
            }
        } catch (RuntimeException e) {
            problems.add("the backend is not usable after the refused allocation: " + e);
        }
        return how;
    }

    private static boolean sameBits(StateSnapshot a, StateSnapshot b) {
        if (a.position() != b.position() || a.tensors().size() != b.tensors().size()) {
            return false;
        }
        for (int i = 0; i < a.tensors().size(); i++) {
            if (!Arrays.equals(a.tensors().get(i).tensor().toDoubleArray(), b.tensors().get(i).tensor().toDoubleArray())) {
                return false;
            }
        }
        return true;
    }

    /** Seeded inputs shared by the scenarios. */
    private static final class Inputs implements AutoCloseable {
        final Tensor q1;
        final Tensor k1;
        final Tensor v1;
        final Tensor q3;
        final Tensor k3;
        final Tensor v3;
        final Tensor x;
        final Tensor w;
        private final List<Tensor> all = new ArrayList<>();
        private final Backend backend;
        private final DType dtype;
        private final SplittableRandom random;

        Inputs(Backend backend, DType dtype, long seed) {
            this.backend = backend;
            this.dtype = dtype;
            this.random = new SplittableRandom(seed);
            q1 = t(Shape.of(1, 2, 1, 4));
            k1 = t(Shape.of(1, 2, 1, 4));
            v1 = t(Shape.of(1, 2, 1, 3));
            q3 = t(Shape.of(1, 2, 3, 4));
            k3 = t(Shape.of(1, 2, 3, 4));
            v3 = t(Shape.of(1, 2, 3, 3));
            x = t(Shape.of(1, 2, 6));
            w = t(Shape.of(6, 3));
        }

        private Tensor t(Shape s) {
            double[] d = new double[Math.toIntExact(s.elementCount())];
            for (int i = 0; i < d.length; i++) {
                d[i] = random.nextDouble(-1, 1);
            }
            Tensor t = backend.upload(HostTensor.of(d, s, dtype));
            all.add(t);
            return t;
        }

        @Override
        public void close() {
            all.forEach(Tensor::close);
        }
    }
}
