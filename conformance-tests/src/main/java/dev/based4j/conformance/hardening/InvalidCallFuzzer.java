package dev.based4j.conformance.hardening;

import dev.based4j.attention.BaseConvSpec;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.Taylor;
import dev.based4j.Allocations;
import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.CorruptStateException;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.StateFormat;
import dev.based4j.state.StateSnapshot;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Throws random invalid calls at every public entry point a backend serves (allocation and copies, every kernel
 * family, the allocating forms) and at the backend-independent ones (specs, feature maps, shapes, host tensors,
 * state factories, state restore and the saved-state format). Every call must end in a documented exception type
 * ({@link IllegalArgumentException}, {@link IllegalStateException}, {@link UnsupportedOperationException},
 * {@link CorruptStateException}, or {@link NullPointerException}/{@link IndexOutOfBoundsException} from the JDK's own
 * checks) whose message names a parameter of the call; a refused state kernel must leave the state's position
 * alone. After every batch a valid sentinel call (linear-attention decode, a linear layer, RMSNorm) runs and must
 * give the bits it gave before the fuzzing; the allocation count must end where it started. Batches run under a
 * timeout, so a hang fails the run rather than the build.
 *
 * <p>Each invalid call is built from a valid one with one thing broken: a null, a tensor of the wrong shape or
 * type, a closed tensor, a tensor of another backend instance, an output aliasing an input, a scalar out of range,
 * a state of another geometry. The seed makes a run reproducible.
 */
public final class InvalidCallFuzzer {
    /** Refusals: what a call made with one thing broken may throw. */
    private static final List<Class<? extends Throwable>> DOCUMENTED = List.of(IllegalArgumentException.class,
            IllegalStateException.class, UnsupportedOperationException.class, CorruptStateException.class,
            NullPointerException.class, IndexOutOfBoundsException.class);

    private static final int MAX_FAILURES_KEPT = 25;

    /**
     * What a run did.
     *
     * @param backend the backend's name
     * @param seed the seed of the run
     * @param calls invalid calls made
     * @param byEntryPoint calls per entry point
     * @param byException refusals per exception type
     * @param sentinelChecks valid calls made between batches, each compared with the first
     * @param failures what went wrong (at most 25 kept; {@link #failureCount()} counts all)
     * @param failureCount how many calls failed a check
     * @param allocationsBefore the backend's allocations before the run
     * @param allocationsAfter and after
     */
    public record Report(String backend, long seed, long calls, Map<String, Long> byEntryPoint,
            Map<String, Long> byException, int sentinelChecks, List<String> failures, long failureCount,
            Allocations allocationsBefore, Allocations allocationsAfter) {
        /** @return whether every call was refused properly and nothing leaked */
        public boolean passed() {
            return failureCount == 0;
        }

        /** @return a multi-line summary */
        public String summary() {
            return "fuzzed " + calls + " invalid calls on " + backend + " (seed " + seed + ") over "
                    + byEntryPoint.size() + " entry points; refusals " + byException + "; " + sentinelChecks
                    + " sentinel calls; allocations before " + allocationsBefore + ", after " + allocationsAfter
                    + "; " + failureCount + " failures" + (failures.isEmpty() ? "" : ":\n  " + String.join("\n  ", failures));
        }
    }

    private final Backend backend;
    private final Supplier<Backend> another;
    private final DType dtype;
    private final DType otherType;
    private final SplittableRandom random;
    private final long seed;
    private final Map<String, Long> byEntryPoint = new TreeMap<>();
    private final Map<String, Long> byException = new TreeMap<>();
    private final List<String> failures = new ArrayList<>();
    private long failureCount;
    private Backend foreign;

    private InvalidCallFuzzer(Backend backend, Supplier<Backend> another, long seed) {
        this.backend = backend;
        this.another = another;
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        Set<DType> precisions = backend.capabilities().precisions();
        this.dtype = precisions.contains(DType.F32) ? DType.F32 : precisions.iterator().next();
        this.otherType = precisions.stream().filter(d -> d != dtype).findFirst().orElse(null);
    }

    /**
     * Runs the fuzzer.
     *
     * @param backend the backend under test (stays open)
     * @param another makes another instance of the same backend, for tensors of a foreign owner (closed here)
     * @param calls invalid calls to make
     * @param batch invalid calls between two sentinel calls
     * @param batchTimeout time one batch may take before the run counts as hung
     * @return what happened; a hang ends the run with a failure
     */
    public static Report run(Backend backend, Supplier<Backend> another, long seed, int calls, int batch,
            Duration batchTimeout) {
        InvalidCallFuzzer f = new InvalidCallFuzzer(backend, another, seed);
        return f.run(calls, batch, batchTimeout);
    }

    private Report run(int calls, int batch, Duration batchTimeout) {
        Allocations before = Allocations.untracked();
        int sentinels = 0;
        long made = 0;
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "based4j-fuzzer");
            t.setDaemon(true);
            return t;
        });
        try {
            Before sentinel = worker.submit(this::sentinel).get(batchTimeout.toMillis(), TimeUnit.MILLISECONDS);
            // counted after the first valid call: state backups a backend keeps for reuse are not leaks
            before = backend.allocations();
            while (made < calls) {
                int n = (int) Math.min(batch, calls - made);
                Future<?> f = worker.submit(() -> {
                    for (int i = 0; i < n; i++) {
                        attempt();
                    }
                });
                try {
                    f.get(batchTimeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    fail("a batch of " + n + " calls after call " + made + " did not finish within " + batchTimeout
                            + ": hang");
                    break;
                }
                made += n;
                Before again = worker.submit(this::sentinel).get(batchTimeout.toMillis(), TimeUnit.MILLISECONDS);
                sentinels++;
                if (!again.equals(sentinel)) {
                    fail("the valid sentinel call after call " + made + " gave other bits than before the fuzzing: "
                            + again.differenceFrom(sentinel));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        } catch (ExecutionException | TimeoutException e) {
            fail("the sentinel call failed: " + (e instanceof ExecutionException ee ? ee.getCause() : e));
        } finally {
            worker.shutdownNow();
            if (foreign != null) {
                foreign.close();
            }
        }
        Allocations after = backend.allocations();
        if (before.tracked() && (after.liveHandles() != before.liveHandles() || after.liveBytes() != before.liveBytes())) {
            fail("allocations: " + before + " before the fuzzing, " + after + " after: refused calls leaked");
        }
        return new Report(backend.name(), seed, made, Collections.unmodifiableMap(byEntryPoint),
                Collections.unmodifiableMap(byException), sentinels, List.copyOf(failures), failureCount, before,
                after);
    }

    private void fail(String what) {
        failureCount++;
        if (failures.size() < MAX_FAILURES_KEPT) {
            failures.add(what);
        }
    }

    // ---------------------------------------------------------------- the sentinel

    /** Downloaded results of the sentinel call, compared bit for bit. */
    private record Before(double[] attention, double[] linear, double[] norm, long position) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Before b && Arrays.equals(attention, b.attention) && Arrays.equals(linear, b.linear)
                    && Arrays.equals(norm, b.norm) && position == b.position;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(attention);
        }

        String differenceFrom(Before b) {
            return "attention equal " + Arrays.equals(attention, b.attention) + ", linear equal "
                    + Arrays.equals(linear, b.linear) + ", norm equal " + Arrays.equals(norm, b.norm) + ", position "
                    + position + " vs " + b.position;
        }
    }

    private Before sentinel() {
        SplittableRandom r = new SplittableRandom(seed ^ 0x5EED);
        try (Scope s = new Scope()) {
            Caps caps = new Caps(backend);
            double[] att = new double[0];
            long position = 0;
            if (caps.linearTaylor) {
                LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(4));
                LinearAttentionState st = s.own(LinearAttentionState.zeros(backend, 1, 2, spec.expandedDim(), 3, dtype));
                Tensor out = s.zeros(Shape.of(1, 2, 1, 3));
                for (int step = 0; step < 3; step++) {
                    backend.linearAttentionDecode(spec, s.random(r, Shape.of(1, 2, 1, 4)),
                            s.random(r, Shape.of(1, 2, 1, 4)), s.random(r, Shape.of(1, 2, 1, 3)), st, out);
                }
                att = backend.download(out).toDoubleArray();
                position = st.position();
            }
            double[] lin = new double[0];
            double[] norm = new double[0];
            if (caps.plumbing) {
                Tensor x = s.random(r, Shape.of(2, 3, 8));
                Tensor w = s.random(r, Shape.of(5, 8));
                Tensor y = s.zeros(Shape.of(2, 3, 5));
                backend.linear(x, w, null, y);
                lin = backend.download(y).toDoubleArray();
                Tensor nw = s.random(r, Shape.of(8));
                Tensor n = s.zeros(Shape.of(2, 3, 8));
                backend.rmsNorm(x, nw, 1e-5, n);
                norm = backend.download(n).toDoubleArray();
            }
            return new Before(att, lin, norm, position);
        }
    }

    // ---------------------------------------------------------------- one invalid call

    /** One invalid call: where, what is broken, which parameter names a proper refusal may carry. */
    private record Case(String entryPoint, String broken, Set<String> names, Call call, RecurrentState state) {}

    @FunctionalInterface
    private interface Call {
        void run() throws Exception;
    }

    private void attempt() {
        try (Scope s = new Scope()) {
            Case c;
            try {
                c = generate(s);
            } catch (RuntimeException e) {
                fail("building a valid call to break failed (a bug of the fuzzer or a refused valid call): " + e);
                return;
            }
            byEntryPoint.merge(c.entryPoint, 1L, Long::sum);
            long position = c.state == null ? 0 : c.state.position();
            Throwable thrown = null;
            try {
                c.call.run();
            } catch (Throwable t) {
                thrown = t;
            }
            String what = c.entryPoint + " with " + c.broken;
            if (thrown == null) {
                fail(what + ": accepted, expected a refusal naming one of " + c.names);
                return;
            }
            if (thrown instanceof VirtualMachineError vm) {
                throw vm;
            }
            byException.merge(thrown.getClass().getSimpleName(), 1L, Long::sum);
            Throwable refusal = thrown;
            if (DOCUMENTED.stream().noneMatch(k -> k.isInstance(refusal))) {
                fail(what + ": threw undocumented " + thrown);
            } else if (!namesOneOf(thrown.getMessage(), c.names)) {
                fail(what + ": " + thrown.getClass().getSimpleName() + " '" + thrown.getMessage()
                        + "' names none of " + c.names);
            } else if (c.state != null && c.state.position() != position) {
                fail(what + ": refused, but the state advanced from " + position + " to " + c.state.position());
            }
        }
    }

    /** Whether the message names a parameter: it starts with it (or with a dotted path ending in it) before ':'. */
    static boolean namesOneOf(String message, Set<String> names) {
        if (message == null) {
            return false;
        }
        for (String n : names) {
            int i = message.indexOf(n);
            while (i >= 0) {
                boolean start = i == 0 || !Character.isLetterOrDigit(message.charAt(i - 1));
                int end = i + n.length();
                boolean stop = end == message.length() || message.charAt(end) == ':' || message.charAt(end) == ' '
                        || message.charAt(end) == '=' || message.charAt(end) == '.' || message.charAt(end) == ',';
                if (start && stop) {
                    return true;
                }
                i = message.indexOf(n, i + 1);
            }
        }
        return false;
    }

    private Case generate(Scope s) {
        Caps caps = new Caps(backend);
        int pick = random.nextInt(100);
        if (pick < 12 && caps.linearTaylor) {
            return attention(s, Kind.LINEAR);
        } else if (pick < 24 && caps.window) {
            return attention(s, Kind.WINDOW);
        } else if (pick < 34 && caps.basedTaylor) {
            return attention(s, Kind.BASED);
        } else if (pick < 40 && caps.conv) {
            return conv(s);
        } else if (pick < 44 && caps.featureMap) {
            return featureMap(s);
        } else if (pick < 72 && caps.plumbing) {
            return plumbing(s);
        } else if (pick < 80) {
            return memory(s);
        } else if (pick < 90) {
            return specs();
        } else {
            return states(s);
        }
    }

    /** What the backend computes in the fuzzed type. */
    private final class Caps {
        final boolean linearTaylor;
        final boolean basedTaylor;
        final boolean window;
        final boolean conv;
        final boolean featureMap;
        final boolean plumbing;

        Caps(Backend b) {
            var c = b.capabilities();
            Taylor t2 = new Taylor(2);
            linearTaylor = c.supports(Operation.LINEAR_ATTENTION, dtype) && c.supports(Operation.LINEAR_ATTENTION, t2);
            basedTaylor = c.supports(Operation.BASED_ATTENTION, dtype) && c.supports(Operation.BASED_ATTENTION, t2);
            window = c.supports(Operation.SLIDING_WINDOW, dtype);
            conv = c.supports(Operation.CAUSAL_CONV, dtype);
            featureMap = c.supports(Operation.FEATURE_MAP, dtype) && c.supports(Operation.FEATURE_MAP, t2);
            plumbing = c.supports(Operation.PLUMBING, dtype);
        }
    }

    // ---------------------------------------------------------------- attention

    private enum Kind { LINEAR, WINDOW, BASED }

    private Case attention(Scope s, Kind kind) {
        int b = 1 + random.nextInt(2);
        int h = 1 + random.nextInt(2);
        boolean decode = random.nextBoolean();
        int seq = decode ? 1 : 1 + random.nextInt(3);
        int f = random.nextBoolean() ? 2 : 4;
        int dv = 2 + random.nextInt(2);
        int lookback = random.nextInt(3);
        Taylor map = new Taylor(f);
        int d = map.outputDim();
        String entry = switch (kind) {
            case LINEAR -> "linearAttention";
            case WINDOW -> "slidingWindow";
            case BASED -> "basedAttention";
        } + (decode ? "Decode" : "Prefill");
        Object[] spec = {switch (kind) {
            case LINEAR -> LinearAttentionSpec.of(map);
            case WINDOW -> SlidingWindowSpec.of(lookback);
            case BASED -> BasedAttentionSpec.of(map, lookback);
        }};
        Tensor[] t = {s.random(random, Shape.of(b, h, seq, f)), s.random(random, Shape.of(b, h, seq, f)),
                s.random(random, Shape.of(b, h, seq, dv)), s.zeros(Shape.of(b, h, seq, dv))};
        String[] tensorNames = {"q", "k", "v", "out"};
        RecurrentState[] state = {switch (kind) {
            case LINEAR -> s.own(LinearAttentionState.zeros(backend, b, h, d, dv, dtype));
            case WINDOW -> s.own(WindowState.empty(backend, b, h, f, dv, lookback, dtype));
            case BASED -> s.own(BasedAttentionState.empty(backend, b, h, f, d, dv, lookback, dtype));
        }};
        Set<String> anyTensor = Set.of("q", "k", "v", "out", "state", "state.kv", "state.z", "state.keys",
                "state.values", "state.far.kv", "state.far.z", "state.near.keys", "state.near.values");
        String broken;
        Set<String> names;
        int what = random.nextInt(10);
        int which = random.nextInt(4);
        switch (what) {
            case 0 -> {
                int p = random.nextInt(6);
                broken = "null " + (p < 4 ? tensorNames[p] : p == 4 ? "spec" : "state");
                names = Set.of(p < 4 ? tensorNames[p] : p == 4 ? "spec" : "state");
                if (p < 4) {
                    t[p] = null;
                } else if (p == 4) {
                    spec[0] = null;
                } else {
                    state[0] = null;
                }
            }
            case 1 -> {
                Shape good = t[which].shape();
                t[which] = s.random(random, perturb(good));
                broken = tensorNames[which] + " of shape " + t[which].shape() + " instead of " + good;
                names = anyTensor;
            }
            case 2 -> {
                if (otherType == null) {
                    t[which].close();
                    broken = "closed " + tensorNames[which];
                    names = Set.of(tensorNames[which]);
                } else {
                    t[which] = s.own(backend.allocate(t[which].shape(), otherType));
                    broken = tensorNames[which] + " of type " + otherType.label();
                    names = anyTensor;
                }
            }
            case 3 -> {
                t[which].close();
                broken = "closed " + tensorNames[which];
                names = Set.of(tensorNames[which]);
            }
            case 4 -> {
                t[which] = s.foreign(t[which].shape());
                broken = tensorNames[which] + " of another backend instance";
                names = Set.of(tensorNames[which]);
            }
            case 5 -> {
                int in = random.nextInt(3);
                if (t[in].shape().equals(t[3].shape())) {
                    t[3] = t[in];
                    broken = "out aliasing " + tensorNames[in];
                    names = Set.of("out");
                } else {
                    t[3] = t[2];
                    broken = "out aliasing v";
                    names = Set.of("out");
                }
            }
            case 6 -> {
                state[0].close();
                broken = "closed state";
                names = anyTensor;
            }
            case 7 -> {
                state[0] = switch (kind) {
                    case LINEAR -> s.own(LinearAttentionState.zeros(backend, b, h + 1, d, dv, dtype));
                    case WINDOW -> s.own(WindowState.empty(backend, b, h, f, dv, lookback + 1, dtype));
                    case BASED -> s.own(BasedAttentionState.empty(backend, b, h, f, d, dv, lookback + 1, dtype));
                };
                broken = "a state of another geometry (" + state[0] + ")";
                names = anyTensor;
            }
            case 8 -> {
                if (decode) {
                    Shape two = Shape.of(b, h, 2, f);
                    t[0] = s.random(random, two);
                    t[1] = s.random(random, two);
                    t[2] = s.random(random, Shape.of(b, h, 2, dv));
                    t[3] = s.zeros(Shape.of(b, h, 2, dv));
                    broken = "two tokens for decode";
                    names = Set.of("q");
                } else {
                    state[0] = switch (kind) {
                        case LINEAR -> s.own(LinearAttentionState.zeros(backend, b, h, d, dv + 1, dtype));
                        case WINDOW -> s.own(WindowState.empty(backend, b, h, f + 1, dv, lookback, dtype));
                        case BASED -> s.own(BasedAttentionState.empty(backend, b, h, f, d, dv, lookback, dtype));
                    };
                    if (kind == Kind.BASED) {
                        t[0] = s.random(random, Shape.of(b, h, seq, f + 1));
                        broken = "q of feature dimension " + (f + 1) + " for the map's " + f;
                    } else {
                        broken = "a state of another value/key dimension";
                    }
                    names = anyTensor;
                }
            }
            default -> {
                spec[0] = switch (kind) {
                    case LINEAR -> LinearAttentionSpec.of(new Taylor(f == 2 ? 4 : 2));
                    case WINDOW -> SlidingWindowSpec.of(lookback + 2);
                    case BASED -> BasedAttentionSpec.of(map, lookback + 2);
                };
                broken = "a spec that does not fit the inputs/state (" + spec[0] + ")";
                names = anyTensor;
            }
        }
        Tensor q = t[0];
        Tensor k = t[1];
        Tensor v = t[2];
        Tensor out = t[3];
        RecurrentState st = state[0];
        Call call = switch (kind) {
            case LINEAR -> decode
                    ? () -> backend.linearAttentionDecode((LinearAttentionSpec) spec[0], q, k, v,
                            (LinearAttentionState) st, out)
                    : () -> backend.linearAttentionPrefill((LinearAttentionSpec) spec[0], q, k, v,
                            (LinearAttentionState) st, out);
            case WINDOW -> decode
                    ? () -> backend.slidingWindowDecode((SlidingWindowSpec) spec[0], q, k, v, (WindowState) st, out)
                    : () -> backend.slidingWindowPrefill((SlidingWindowSpec) spec[0], q, k, v, (WindowState) st, out);
            case BASED -> decode
                    ? () -> backend.basedAttentionDecode((BasedAttentionSpec) spec[0], q, k, v,
                            (BasedAttentionState) st, out)
                    : () -> backend.basedAttentionPrefill((BasedAttentionSpec) spec[0], q, k, v,
                            (BasedAttentionState) st, out);
        };
        return new Case(entry, broken, names, call, st != null && !closedState(st) ? st : null);
    }

    private static boolean closedState(RecurrentState st) {
        return switch (st) {
            case LinearAttentionState l -> l.kv().isClosed();
            case WindowState w -> w.keys().isClosed();
            case BasedAttentionState x -> x.far().kv().isClosed();
            case ConvState c -> c.window().isClosed();
        };
    }

    /** The shape with one dimension changed (never to below 1). */
    private Shape perturb(Shape s) {
        int[] dims = s.dims().clone();
        int i = random.nextInt(dims.length);
        dims[i] = dims[i] > 1 && random.nextBoolean() ? dims[i] - 1 : dims[i] + 1;
        return Shape.of(dims);
    }

    // ---------------------------------------------------------------- conv, feature maps

    private Case conv(Scope s) {
        int b = 1 + random.nextInt(2);
        int seq = 1 + random.nextInt(3);
        int c = 2 + random.nextInt(3);
        int kernel = 2 + random.nextInt(3);
        Tensor[] t = {s.random(random, Shape.of(b, seq, c)), s.random(random, Shape.of(c, kernel)),
                s.zeros(Shape.of(b, seq, c))};
        ConvState[] st = {s.own(ConvState.zeros(backend, b, c, kernel, dtype))};
        String[] names = {"x", "weight", "out"};
        Set<String> any = Set.of("x", "weight", "out", "state", "state.window");
        int what = random.nextInt(5);
        int which = random.nextInt(3);
        String broken;
        Set<String> accepted;
        switch (what) {
            case 0 -> {
                t[which] = null;
                broken = "null " + names[which];
                accepted = Set.of(names[which]);
            }
            case 1 -> {
                t[which] = s.random(random, perturb(t[which].shape()));
                broken = names[which] + " of shape " + t[which].shape();
                accepted = any;
            }
            case 2 -> {
                st[0] = s.own(ConvState.zeros(backend, b, c, kernel + 1, dtype));
                broken = "a state of kernel " + (kernel + 1);
                accepted = any;
            }
            case 3 -> {
                st[0] = null;
                broken = "null state";
                accepted = Set.of("state");
            }
            default -> {
                t[which] = s.foreign(t[which].shape());
                broken = names[which] + " of another backend instance";
                accepted = Set.of(names[which]);
            }
        }
        ConvState state = st[0];
        return new Case("causalConv", broken, accepted, () -> backend.causalConv(t[0], t[1], state, t[2]), state);
    }

    private Case featureMap(Scope s) {
        int f = random.nextBoolean() ? 2 : 4;
        FeatureMap map = new Taylor(f);
        Tensor[] t = {s.random(random, Shape.of(1 + random.nextInt(2), 1 + random.nextInt(3), f)), null};
        t[1] = s.zeros(t[0].shape().withLast(map.outputDim()));
        FeatureMap[] m = {map};
        int what = random.nextInt(5);
        String broken;
        Set<String> names;
        switch (what) {
            case 0 -> {
                m[0] = null;
                broken = "null map";
                names = Set.of("map");
            }
            case 1 -> {
                t[0] = s.random(random, t[0].shape().withLast(f + 1));
                broken = "x of dimension " + (f + 1) + " for f " + f;
                names = Set.of("x");
            }
            case 2 -> {
                t[1] = s.zeros(t[1].shape().withLast(map.outputDim() - 1));
                broken = "out one feature short";
                names = Set.of("out");
            }
            case 3 -> {
                t[0] = null;
                broken = "null x (allocating form)";
                names = Set.of("x");
                return new Case("featureMap(map, x)", broken, names, () -> s.own(backend.featureMap(m[0], t[0])),
                        null);
            }
            default -> {
                t[0].close();
                broken = "closed x";
                names = Set.of("x");
            }
        }
        return new Case("featureMap", broken, names, () -> backend.featureMap(m[0], t[0], t[1]), null);
    }

    // ---------------------------------------------------------------- plumbing

    private Case plumbing(Scope s) {
        int rows = 1 + random.nextInt(3);
        int seq = 1 + random.nextInt(3);
        int d = 2 * (1 + random.nextInt(3));
        Shape xs = Shape.of(rows, seq, d);
        Tensor x = s.random(random, xs);
        return switch (random.nextInt(11)) {
            case 0 -> {
                int out = 1 + random.nextInt(4);
                Tensor w = s.random(random, Shape.of(out, d));
                Tensor y = s.zeros(Shape.of(rows, seq, out));
                yield switch (random.nextInt(5)) {
                    case 0 -> new Case("linear", "weight [" + out + ", " + (d + 1) + "]", Set.of("x", "weight"),
                            () -> backend.linear(x, s.random(random, Shape.of(out, d + 1)), null, y), null);
                    case 1 -> new Case("linear", "bias of the wrong length", Set.of("bias"),
                            () -> backend.linear(x, w, s.random(random, Shape.of(out + 1)), y), null);
                    case 2 -> new Case("linear", "out of the wrong width", Set.of("out"),
                            () -> backend.linear(x, w, null, s.zeros(Shape.of(rows, seq, out + 1))), null);
                    case 3 -> new Case("linear", "weight of rank 1", Set.of("weight"),
                            () -> backend.linear(x, s.random(random, Shape.of(d)), null, y), null);
                    default -> new Case("linear(x, weight, bias)", "null weight", Set.of("weight"),
                            () -> s.own(backend.linear(x, (Tensor) null, null)), null);
                };
            }
            case 1 -> {
                Tensor w = s.random(random, Shape.of(d));
                double eps = switch (random.nextInt(4)) {
                    case 0 -> 0;
                    case 1 -> -random.nextDouble();
                    case 2 -> Double.NaN;
                    default -> Double.POSITIVE_INFINITY;
                };
                yield random.nextBoolean()
                        ? new Case("rmsNorm", "eps " + eps, Set.of("eps"),
                                () -> backend.rmsNorm(x, w, eps, s.zeros(xs)), null)
                        : new Case("rmsNorm", "weight of length " + (d + 1), Set.of("weight"),
                                () -> backend.rmsNorm(x, s.random(random, Shape.of(d + 1)), 1e-5, s.zeros(xs)), null);
            }
            case 2 -> random.nextBoolean()
                    ? new Case("silu", "out of another shape", Set.of("out"),
                            () -> backend.silu(x, s.zeros(perturb(xs))), null)
                    : new Case("gelu", "null x", Set.of("x"), () -> backend.gelu(null, s.zeros(xs)), null);
            case 3 -> random.nextBoolean()
                    ? new Case("add", "b of another shape", Set.of("b"),
                            () -> backend.add(x, s.random(random, perturb(xs)), s.zeros(xs)), null)
                    : new Case("multiply", "closed out", Set.of("out"), () -> {
                        Tensor o = s.zeros(xs);
                        o.close();
                        backend.multiply(x, x, o);
                    }, null);
            case 4 -> {
                int vocab = 2 + random.nextInt(5);
                Tensor table = s.random(random, Shape.of(vocab, d));
                int[] ids = new int[rows * seq];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = random.nextInt(vocab);
                }
                Tensor out = s.zeros(Shape.of(rows, seq, d));
                yield switch (random.nextInt(4)) {
                    case 0 -> {
                        ids[random.nextInt(ids.length)] = random.nextBoolean() ? -1 - random.nextInt(5) : vocab + random.nextInt(5);
                        yield new Case("embedding", "a token id out of range", Set.of("ids"),
                                () -> backend.embedding(table, ids, out), null);
                    }
                    case 1 -> new Case("embedding", "too few ids", Set.of("ids"),
                            () -> backend.embedding(table, Arrays.copyOf(ids, ids.length + 1), out), null);
                    case 2 -> new Case("embedding", "null ids", Set.of("ids"), () -> backend.embedding(table, null, out),
                            null);
                    default -> new Case("embedding", "table of rank 3", Set.of("table"),
                            () -> backend.embedding(s.random(random, Shape.of(1, vocab, d)), ids, out), null);
                };
            }
            case 5 -> {
                Tensor x4 = s.random(random, Shape.of(1, rows, seq, d));
                yield switch (random.nextInt(4)) {
                    case 0 -> new Case("rotary", "negative start", Set.of("startPosition"),
                            () -> backend.rotary(x4, -1 - random.nextInt(100), d, 10000, s.zeros(x4.shape())), null);
                    case 1 -> {
                        int rd = random.nextBoolean() ? d + 2 : (random.nextBoolean() ? 0 : 1);
                        yield new Case("rotary", "rotaryDim " + rd, Set.of("rotaryDim"),
                                () -> backend.rotary(x4, 0, rd, 10000, s.zeros(x4.shape())), null);
                    }
                    case 2 -> {
                        double base = random.nextBoolean() ? random.nextDouble() : Double.NaN;
                        yield new Case("rotary", "base " + base, Set.of("base"),
                                () -> backend.rotary(x4, 0, d, base, s.zeros(x4.shape())), null);
                    }
                    default -> new Case("rotary", "x of rank 3", Set.of("x"),
                            () -> backend.rotary(x, 0, d, 10000, s.zeros(xs)), null);
                };
            }
            case 6 -> new Case("splitHeads", "out with heads·d != channels", Set.of("out"),
                    () -> backend.splitHeads(x, s.zeros(Shape.of(rows, 2, seq, d / 2 + 1))), null);
            case 7 -> random.nextBoolean()
                    ? new Case("mergeHeads", "x of rank 3", Set.of("x"), () -> backend.mergeHeads(x, s.zeros(xs)), null)
                    : new Case("splitHeads(x, heads)", "heads " + (d + 1), Set.of("x"),
                            () -> s.own(backend.splitHeads(x, d + 1)), null);
            case 8 -> {
                int from = random.nextBoolean() ? -1 - random.nextInt(3) : d;
                yield random.nextBoolean()
                        ? new Case("slice", "from " + from, Set.of("from"),
                                () -> backend.slice(x, from, s.zeros(xs.withLast(1))), null)
                        : new Case("slice(x, from, to)", "to <= from", Set.of("to"),
                                () -> s.own(backend.slice(x, 1, 1)), null);
            }
            case 9 -> new Case("add", "a of another backend instance", Set.of("a"),
                    () -> backend.add(s.foreign(xs), x, s.zeros(xs)), null);
            default -> new Case("silu(x)", "null x", Set.of("x"), () -> s.own(backend.silu(null)), null);
        };
    }

    // ---------------------------------------------------------------- memory

    private Case memory(Scope s) {
        Shape shape = Shape.of(1 + random.nextInt(3), 1 + random.nextInt(3));
        return switch (random.nextInt(7)) {
            case 0 -> new Case("allocate", "null shape", Set.of("shape"), () -> s.own(backend.allocate(null, dtype)),
                    null);
            case 1 -> new Case("allocate", "null dtype", Set.of("dtype"), () -> s.own(backend.allocate(shape, null)),
                    null);
            case 2 -> new Case("upload", "null host", Set.of("host"), () -> s.own(backend.upload(null)), null);
            case 3 -> new Case("download", "dst of another shape", Set.of("dst"),
                    () -> backend.download(s.random(random, shape), HostTensor.allocate(perturb(shape), dtype)), null);
            case 4 -> new Case("download", "closed src", Set.of("src"), () -> {
                Tensor t = s.zeros(shape);
                t.close();
                backend.download(t);
            }, null);
            case 5 -> new Case("download", "src of another backend instance", Set.of("src"),
                    () -> backend.download(s.foreign(shape)), null);
            default -> new Case("download", "null src", Set.of("src"), () -> backend.download(null), null);
        };
    }

    // ---------------------------------------------------------------- specs, maps, shapes, host tensors

    private Case specs() {
        int bad = -random.nextInt(3);
        return switch (random.nextInt(12)) {
            case 0 -> new Case("Shape.of", "dimension " + bad, Set.of("shape"), () -> Shape.of(2, bad), null);
            case 1 -> new Case("Shape.of", "no dimensions", Set.of("shape"), () -> Shape.of(), null);
            case 2 -> new Case("Taylor", "inputDim " + bad, Set.of("inputDim"), () -> new Taylor(bad), null);
            case 3 -> new Case("Performer", "a projection of the wrong size", Set.of("projection"),
                    () -> new Performer(4, 8, new double[31]), null);
            case 4 -> new Case("LinearAttentionSpec", "eps " + (bad - 1e-3), Set.of("eps"),
                    () -> new LinearAttentionSpec(new Taylor(2), bad - 1e-3,
                            dev.based4j.attention.PrefillAlgorithm.AUTO, 64, false), null);
            case 5 -> new Case("LinearAttentionSpec.withChunkSize", "chunk " + bad, Set.of("chunkSize"),
                    () -> LinearAttentionSpec.of(new Taylor(2)).withChunkSize(bad), null);
            case 6 -> new Case("LinearAttentionSpec.of", "null featureMap", Set.of("featureMap"),
                    () -> LinearAttentionSpec.of(null), null);
            case 7 -> new Case("SlidingWindowSpec.of", "lookback " + (bad - 1), Set.of("lookback"),
                    () -> SlidingWindowSpec.of(bad - 1), null);
            case 8 -> new Case("SlidingWindowSpec", "scale NaN", Set.of("scale"),
                    () -> new SlidingWindowSpec(2, OptionalDouble.of(Double.NaN)), null);
            case 9 -> new Case("BasedAttentionSpec.of", "lookback " + (bad - 1), Set.of("lookback"),
                    () -> BasedAttentionSpec.of(new Taylor(2), bad - 1), null);
            case 10 -> new Case("BaseConvSpec", "kernelSize " + bad, Set.of("kernelSize"),
                    () -> new BaseConvSpec(8, 8, bad), null);
            default -> new Case("HostTensor.of", "data one element short", Set.of("data"),
                    () -> HostTensor.of(new double[5], Shape.of(2, 3)), null);
        };
    }

    // ---------------------------------------------------------------- states: factories, restore, format

    private Case states(Scope s) {
        int bad = -random.nextInt(2);
        return switch (random.nextInt(8)) {
            case 0 -> new Case("LinearAttentionState.zeros", "heads " + bad, Set.of("heads"),
                    () -> s.own(LinearAttentionState.zeros(backend, 1, bad, 5, 2, dtype)), null);
            case 1 -> new Case("WindowState.empty", "lookback " + (bad - 1), Set.of("lookback"),
                    () -> s.own(WindowState.empty(backend, 1, 1, 2, 2, bad - 1, dtype)), null);
            case 2 -> new Case("ConvState.zeros", "channels " + bad, Set.of("channels"),
                    () -> s.own(ConvState.zeros(backend, 1, bad, 3, dtype)), null);
            case 3 -> new Case("LinearAttentionState.zeros", "null backend", Set.of("backend"),
                    () -> s.own(LinearAttentionState.zeros(null, 1, 1, 5, 2, dtype)), null);
            case 4 -> new Case("LinearAttentionState.restore", "a window snapshot", Set.of("snapshot"),
                    () -> s.own(LinearAttentionState.restore(backend, windowSnapshot(), dtype)), null);
            case 5 -> {
                StateSnapshot lying = new StateSnapshot(StateSnapshot.Kind.LINEAR_ATTENTION, 3, List.of(), List.of(
                        new StateSnapshot.Entry("kv", HostTensor.allocate(Shape.of(1, 2, 3, 5), DType.F64)),
                        new StateSnapshot.Entry("z", HostTensor.allocate(Shape.of(1, 2, 4), DType.F64))));
                yield new Case("LinearAttentionState.restore", "kv and z that disagree", Set.of("snapshot"),
                        () -> s.own(LinearAttentionState.restore(backend, lying, dtype)), null);
            }
            default -> {
                byte[] bytes = StateFormat.encode(List.of(windowSnapshot()));
                String broken;
                if (random.nextBoolean()) {
                    int cut = random.nextInt(bytes.length);
                    bytes = Arrays.copyOf(bytes, cut);
                    broken = "truncated to " + cut + " bytes";
                } else {
                    int at = random.nextInt(bytes.length);
                    bytes[at] ^= (byte) (1 + random.nextInt(255));
                    broken = "byte " + at + " changed";
                }
                byte[] file = bytes;
                yield new Case("StateFormat.decode", broken, Set.of("state"), () -> StateFormat.decode(file), null);
            }
        };
    }

    private static StateSnapshot windowSnapshot() {
        return new StateSnapshot(StateSnapshot.Kind.WINDOW, 5, List.of(new StateSnapshot.Meta("lookback", 2)),
                List.of(new StateSnapshot.Entry("keys", HostTensor.of(new double[] {1, 2, 3, 4, 5, 6},
                                Shape.of(1, 1, 3, 2))),
                        new StateSnapshot.Entry("values", HostTensor.of(new double[] {7, 8, 9}, Shape.of(1, 1, 3, 1)))));
    }

    // ---------------------------------------------------------------- resources of one call

    /** Tensors and states of one call, closed afterwards; a refused call must not leave anything open. */
    private final class Scope implements AutoCloseable {
        private final List<AutoCloseable> owned = new ArrayList<>();

        <T extends AutoCloseable> T own(T resource) {
            owned.add(resource);
            return resource;
        }

        Tensor zeros(Shape shape) {
            return own(backend.allocate(shape, dtype));
        }

        Tensor random(SplittableRandom r, Shape shape) {
            double[] data = new double[Math.toIntExact(shape.elementCount())];
            for (int i = 0; i < data.length; i++) {
                data[i] = r.nextDouble(-1, 1);
            }
            return own(backend.upload(HostTensor.of(data, shape, dtype)));
        }

        Tensor foreign(Shape shape) {
            if (foreign == null) {
                foreign = another.get();
            }
            return own(foreign.allocate(shape, dtype));
        }

        @Override
        public void close() {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    fail("closing " + owned.get(i) + " failed: " + e);
                }
            }
        }
    }
}
