package dev.based4j.internal;

import dev.based4j.Allocations;
import dev.based4j.Backend;
import dev.based4j.Capabilities;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.Engine;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The {@link Backend} based4j makes from an {@link Engine}: each public call is counted in flight (so that closing
 * waits for it), validated once ({@link CallChecks}, {@link PlumbingChecks}), claims the tensors it writes
 * ({@link WriteClaims}), runs the engine's family on the validated call, backs the state up around it when the engine
 * asks for that ({@link StateBackups}), and advances the state's position after success.
 *
 * @param <B> the engine's memory handle
 */
public final class KernelBackend<B> implements Backend {
    /** How long {@link #close()} waits for calls still running on other threads. */
    private static final long CLOSE_WAIT_SECONDS = 60;

    private final String name;
    private final Engine<B> engine;
    private final Capabilities capabilities;
    private final AllocationLedger ledger;
    private final InFlightCalls calls;
    private final StateBackups<B> backups;
    private final CallChecks<B> checks;
    private final PlumbingChecks<B> plumbingChecks;
    private final PlanRecorder plans;
    private final StateCalls<B> stateCalls;

    /** Use {@link Engine#open(String)}. */
    public KernelBackend(String name, Engine<B> engine) {
        this.name = name;
        this.engine = engine;
        this.capabilities = engine.capabilities();
        this.ledger = new AllocationLedger(name);
        this.calls = new InFlightCalls(name);
        this.backups = engine.statesSurviveFailures() ? null : new StateBackups<>(engine, ledger);
        this.checks = new CallChecks<>(this);
        this.plumbingChecks = new PlumbingChecks<>(checks);
        this.plans = new PlanRecorder(name);
        this.stateCalls = new StateCalls<>(backups);
    }

    AllocationLedger ledger() {
        return ledger;
    }

    /** @return the capture the current thread records into, or null */
    private Capture recording() {
        return plans.current();
    }

    /**
     * Records what {@code step} does on this backend, on this thread, for replay ({@link PlanRecorder#record});
     * {@code step} runs once, for real.
     */
    Capture capture(Runnable step) {
        return plans.record(step);
    }

    /**
     * Runs a capture's calls again, counted as one call in flight. The caller has checked that the recorded tensors
     * are open (the plan's owner does, once per step).
     */
    void replay(Capture c, long delta) {
        calls.enter();
        try {
            for (Capture.Replay r : c.calls()) {
                r.run(delta);
            }
        } finally {
            calls.exit();
        }
    }

    /** Frees what a capture (or the plan made from it) owns. */
    void release(Capture c) {
        PlanRecorder.release(c);
    }

    /** @return the engine this backend runs */
    public Engine<B> engine() {
        return engine;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String device() {
        return engine.device();
    }

    @Override
    public Capabilities capabilities() {
        return capabilities;
    }

    @Override
    public Allocations allocations() {
        return ledger.snapshot();
    }

    @Override
    public <T> Optional<T> unwrap(Class<T> type) {
        CallChecks.notNull("type", type);
        return engine.extension(type);
    }

    @Override
    public String toString() {
        return "Backend[" + name + ", " + engine.device() + "]";
    }

    // ---------------------------------------------------------------- memory

    @Override
    public Tensor allocate(Shape shape, DType dtype) {
        calls.enter();
        try {
            CallChecks.notNull("shape", shape);
            CallChecks.notNull("dtype", dtype);
            checks.storable(dtype);
            return owned(new DeviceTensor<>(shape, dtype, this, ledger, engine.memory().allocate(shape, dtype)));
        } finally {
            calls.exit();
        }
    }

    @Override
    public Tensor upload(HostTensor host) {
        calls.enter();
        try {
            CallChecks.notNull("host", host);
            checks.storable(host.dtype());
            Allocation<B> a = engine.memory().upload(host);
            return owned(new DeviceTensor<>(host.shape(), host.dtype(), this, ledger, a));
        } finally {
            calls.exit();
        }
    }

    /** A tensor allocated while a step is recorded belongs to the plan: its close() waits for the plan's. */
    private DeviceTensor<B> owned(DeviceTensor<B> t) {
        Capture c = recording();
        if (c != null) {
            t.hold();
            c.own(t);
        }
        return t;
    }

    @Override
    public void download(Tensor src, HostTensor dst) {
        calls.enter();
        try (WriteClaims claims = new WriteClaims()) {
            if (recording() != null) {
                throw new IllegalStateException("download: a planned step runs on the device from its input to its"
                        + " output and cannot read a tensor back to the host in between");
            }
            DeviceTensor<B> s = checks.owned("src", src);
            CallChecks.notNull("dst", dst);
            if (!dst.shape().equals(src.shape()) || dst.dtype() != src.dtype()) {
                throw new IllegalArgumentException("dst: expected " + src.dtype().label() + " " + src.shape()
                        + " like src, got " + dst.dtype().label() + " " + dst.shape());
            }
            claims.read("src", src);
            engine.memory().download(s.buffer(), dst);
        } finally {
            calls.exit();
        }
    }

    @Override
    public Tensor view(Tensor x, Shape shape) {
        calls.enter();
        try {
            DeviceTensor<B> t = checks.owned("x", x);
            CallChecks.notNull("shape", shape);
            if (shape.elementCount() != x.shape().elementCount()) {
                throw new IllegalArgumentException("shape: expected " + x.shape().elementCount() + " elements like x "
                        + x.shape() + ", got " + shape + " with " + shape.elementCount());
            }
            return owned(t.view(shape));
        } finally {
            calls.exit();
        }
    }

    @Override
    public void copyRows(Tensor src, int srcRow, Tensor dst, int dstRow, int rows) {
        calls.enter();
        try (WriteClaims claims = new WriteClaims()) {
            CallChecks.RowCopy<B> c = checks.rows(src, srcRow, dst, dstRow, rows, engine.copy().isPresent());
            claims.read("src", src).write("dst", dst);
            var copy = engine.copy().orElseThrow();
            copy.copy(c.src(), c.srcOffset(), c.dst(), c.dstOffset(), c.bytes());
            Capture recorder = recording();
            if (recorder != null) {
                recorder.record(delta -> copy.copy(c.src(), c.srcOffset(), c.dst(), c.dstOffset(), c.bytes()));
            }
        } finally {
            calls.exit();
        }
    }

    @Override
    public void synchronize() {
        calls.enter();
        try {
            engine.synchronize();
        } finally {
            calls.exit();
        }
    }

    /**
     * Frees every tensor still open and the device resources. Calls already running on other threads are waited for
     * (up to a minute), so closing never frees memory under a running kernel; calls made after it are refused with
     * {@link IllegalStateException}. Idempotent.
     */
    @Override
    public void close() {
        if (!calls.closeAndAwait(CLOSE_WAIT_SECONDS)) {
            return;
        }
        try {
            if (backups != null) {
                backups.close();
            }
            ledger.closeAll();
        } finally {
            engine.close();
        }
    }

    // ---------------------------------------------------------------- kernels

    @Override
    public void featureMap(FeatureMap map, Tensor x, Tensor out) {
        calls.enter();
        try (WriteClaims claims = new WriteClaims()) {
            var call = checks.featureMap(map, x, out);
            claims.read("x", x).write("out", out);
            var family = engine.featureMaps().orElseThrow();
            family.apply(call);
            Capture c = recording();
            if (c != null) {
                c.record(delta -> family.apply(call));
            }
        } finally {
            calls.exit();
        }
    }

    @Override
    public void linearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        calls.enter();
        try {
            var call = checks.linear(spec, q, k, v, state, out, false);
            onState(state, qkv(q, k, v, out), "linearAttentionPrefill", call.seq(), call,
                    c -> Rebind.linear(c, state), engine.linearAttention().orElseThrow()::prefill);
        } finally {
            calls.exit();
        }
    }

    @Override
    public void linearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        calls.enter();
        try {
            var call = checks.linear(spec, q, k, v, state, out, true);
            onState(state, qkv(q, k, v, out), "linearAttentionDecode", 1, call,
                    c -> Rebind.linear(c, state), engine.linearAttention().orElseThrow()::decode);
        } finally {
            calls.exit();
        }
    }

    @Override
    public void slidingWindowPrefill(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        calls.enter();
        try {
            var call = checks.window(spec, q, k, v, state, out, false);
            onState(state, qkv(q, k, v, out), "slidingWindowPrefill", call.seq(), call,
                    c -> Rebind.window(c, state), engine.slidingWindow().orElseThrow()::prefill);
        } finally {
            calls.exit();
        }
    }

    @Override
    public void slidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        calls.enter();
        try {
            var call = checks.window(spec, q, k, v, state, out, true);
            onState(state, qkv(q, k, v, out), "slidingWindowDecode", 1, call,
                    c -> Rebind.window(c, state), engine.slidingWindow().orElseThrow()::decode);
        } finally {
            calls.exit();
        }
    }

    @Override
    public void basedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        calls.enter();
        try {
            var call = checks.based(spec, q, k, v, state, out, false);
            onState(state, qkv(q, k, v, out), "basedAttentionPrefill", call.seq(), call,
                    c -> Rebind.based(c, state), engine.basedAttention().orElseThrow()::prefill);
        } finally {
            calls.exit();
        }
    }

    @Override
    public void basedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        calls.enter();
        try {
            var call = checks.based(spec, q, k, v, state, out, true);
            onState(state, qkv(q, k, v, out), "basedAttentionDecode", 1, call,
                    c -> Rebind.based(c, state), engine.basedAttention().orElseThrow()::decode);
        } finally {
            calls.exit();
        }
    }

    @Override
    public void causalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        calls.enter();
        try {
            var call = checks.conv(x, weight, state, out);
            onState(state, c -> c.read("x", x).read("weight", weight).write("out", out), "causalConv", call.seq(),
                    call, c -> Rebind.conv(c, state), engine.conv().orElseThrow()::causalConv);
        } finally {
            calls.exit();
        }
    }

    private static Consumer<WriteClaims> qkv(Tensor q, Tensor k, Tensor v, Tensor out) {
        return c -> c.read("q", q).read("k", k).read("v", v).write("out", out);
    }

    private <C> void onState(RecurrentState state, Consumer<WriteClaims> claim, String operation, long tokens, C call,
            UnaryOperator<C> rebind, Consumer<C> kernel) {
        stateCalls.run(state, claim, operation, tokens, call, rebind, kernel, recording());
    }

    // ---------------------------------------------------------------- plumbing

    @Override
    public void linear(Tensor x, Weight weight, Tensor bias, Tensor out) {
        plumbing(() -> plumbingChecks.linear(x, weight, bias, out),
                c -> c.read("x", x).read("weight", weight.values()).read("scales", weight.scales()).read("bias", bias)
                        .write("out", out),
                (p, call) -> p.linear(call));
    }

    @Override
    public void rmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        plumbing(() -> plumbingChecks.rmsNorm(x, weight, eps, out),
                c -> c.write("out", out).read("x", x).read("weight", weight), (p, call) -> p.rmsNorm(call));
    }

    @Override
    public void silu(Tensor x, Tensor out) {
        plumbing(() -> plumbingChecks.unary(x, out), c -> c.write("out", out).read("x", x), (p, call) -> p.silu(call));
    }

    @Override
    public void gelu(Tensor x, Tensor out) {
        plumbing(() -> plumbingChecks.unary(x, out), c -> c.write("out", out).read("x", x), (p, call) -> p.gelu(call));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        plumbing(() -> plumbingChecks.binary(a, b, out), c -> c.write("out", out).read("a", a).read("b", b),
                (p, call) -> p.add(call));
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        plumbing(() -> plumbingChecks.binary(a, b, out), c -> c.write("out", out).read("a", a).read("b", b),
                (p, call) -> p.multiply(call));
    }

    @Override
    public void embedding(Weight table, int[] ids, Tensor out) {
        plumbing(() -> plumbingChecks.embedding(table, ids, out),
                c -> c.read("table", table.values()).read("scales", table.scales()).write("out", out),
                (p, call) -> p.embedding(call));
    }

    @Override
    public void rotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        plumbing(() -> plumbingChecks.rotary(x, startPosition, rotaryDim, base, out),
                c -> c.write("out", out).read("x", x), (p, call) -> p.rotary(call));
    }

    @Override
    public void splitHeads(Tensor x, Tensor out) {
        plumbing(() -> plumbingChecks.splitHeads(x, out), c -> c.read("x", x).write("out", out),
                (p, call) -> p.splitHeads(call));
    }

    @Override
    public void mergeHeads(Tensor x, Tensor out) {
        plumbing(() -> plumbingChecks.mergeHeads(x, out), c -> c.read("x", x).write("out", out),
                (p, call) -> p.mergeHeads(call));
    }

    @Override
    public void slice(Tensor x, int from, Tensor out) {
        plumbing(() -> plumbingChecks.slice(x, from, out), c -> c.read("x", x).write("out", out),
                (p, call) -> p.slice(call));
    }

    /** A plumbing kernel: validate into a call, claim its tensors, run the family (and record it for a plan). */
    private <C> void plumbing(Supplier<C> validate, Consumer<WriteClaims> claim, BiConsumer<PlumbingFamily<B>, C> run) {
        calls.enter();
        try (WriteClaims claims = new WriteClaims()) {
            C call = validate.get();
            claim.accept(claims);
            PlumbingFamily<B> family = engine.plumbing().orElseThrow();
            run.accept(family, call);
            Capture c = recording();
            if (c != null) {
                if (call instanceof PlumbingFamily.RotaryCall<?> r) {
                    @SuppressWarnings("unchecked")
                    PlumbingFamily.RotaryCall<B> rotary = (PlumbingFamily.RotaryCall<B>) r;
                    c.record(delta -> family.rotary(Rebind.rotary(rotary, delta)));
                } else {
                    if (call instanceof PlumbingFamily.EmbeddingCall<?> e) {
                        c.embedding(e.ids());
                    }
                    c.record(delta -> run.accept(family, call));
                }
            }
        } finally {
            calls.exit();
        }
    }
}
