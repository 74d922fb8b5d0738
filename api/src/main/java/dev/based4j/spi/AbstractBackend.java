package dev.based4j.spi;

import dev.based4j.Backend;
import dev.based4j.Capabilities;
import dev.based4j.Operation;
import dev.based4j.Allocations;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Base class of backends: every public method validates its arguments (nulls, ownership, closed tensors,
 * shapes, types, ranges, capabilities) and only then calls the matching {@code compute...} method, which can
 * assume well-formed input. After a successful attention or convolution kernel it advances the state's position;
 * a {@code compute...} method must not. Messages follow the project's style: the parameter, the expected value,
 * what was found.
 *
 * <p>What the base class adds to every backend:
 * <ul>
 *   <li><b>Allocation accounting.</b> Every {@link AbstractTensor} is counted in {@link #allocations()}; closing the
 *       backend frees the tensors still open (before {@link #closeBackend()}), and a tensor collected without
 *       {@code close()} is freed by a cleaner and reported once.</li>
 *   <li><b>One writer per tensor.</b> A kernel claims the tensors it writes (its output and its state) for its
 *       duration; a second thread writing or reading one of them meanwhile gets an {@link IllegalStateException}
 *       that says so, instead of a corrupted result. The tensors of a call stay reachable until it returns.</li>
 *   <li><b>States survive failed kernels.</b> Unless {@link #computeLeavesStateOnFailure()} says the backend's
 *       kernels never leave a state half-written, the state's tensors are copied on the device before each
 *       kernel that updates a state ({@link #copyTensor}) and copied back if it throws; the position advances
 *       only on success.</li>
 * </ul>
 */
public abstract class AbstractBackend implements Backend {
    /** Ledger of tensors whose backend is not an {@code AbstractBackend}: counts that nobody reads. */
    static final AllocationLedger UNOWNED = new AllocationLedger("(not an AbstractBackend)");

    private volatile boolean closed;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile AllocationLedger ledger;
    private final AtomicInteger injectedFaults = new AtomicInteger();
    private final ConcurrentHashMap<BackupKey, ConcurrentLinkedQueue<Tensor>> backups = new ConcurrentHashMap<>();

    // ---------------------------------------------------------------- what implementations write

    /** Allocates a zero-filled tensor; shape and type are valid. */
    protected abstract Tensor allocateTensor(Shape shape, DType dtype);

    /** Copies host data into a new tensor. */
    protected abstract Tensor uploadTensor(HostTensor host);

    /** Copies {@code src} into {@code dst}; shapes and types match. */
    protected abstract void downloadTensor(Tensor src, HostTensor dst);

    /**
     * Frees device resources; called once, after the base class has freed every tensor made with a free action
     * that was still open. Tensors of the older kind ({@link AbstractTensor#release()}) are the subclass's to free.
     */
    protected abstract void closeBackend();

    /**
     * Whether the {@code compute...} methods that update a state leave it untouched when they throw (they compute
     * into scratch and commit at the end, or cannot fail once the arguments are valid). When false, the default,
     * the base class backs the state up before each such kernel and restores it on failure, at the cost of one
     * device-side copy of the state per call.
     */
    protected boolean computeLeavesStateOnFailure() {
        return false;
    }

    /**
     * Copies {@code src} into {@code dst} (same shape and type) on the device, for state backups. The default runs
     * {@link #computeSlice} over the whole last dimension; a backend without plumbing overrides it.
     */
    protected void copyTensor(Tensor src, Tensor dst) {
        computeSlice(src, 0, dst);
    }

    protected abstract void computeFeatureMap(FeatureMap map, Tensor x, Tensor out);

    protected abstract void computeLinearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out);

    protected abstract void computeLinearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out);

    protected abstract void computeSlidingWindowPrefill(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out);

    protected abstract void computeSlidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out);

    protected abstract void computeBasedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out);

    protected abstract void computeBasedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out);

    protected abstract void computeCausalConv(Tensor x, Tensor weight, ConvState state, Tensor out);

    protected abstract void computeLinear(Tensor x, Tensor weight, Tensor bias, Tensor out);

    protected abstract void computeRmsNorm(Tensor x, Tensor weight, double eps, Tensor out);

    protected abstract void computeSilu(Tensor x, Tensor out);

    protected abstract void computeGelu(Tensor x, Tensor out);

    protected abstract void computeAdd(Tensor a, Tensor b, Tensor out);

    protected abstract void computeMultiply(Tensor a, Tensor b, Tensor out);

    protected abstract void computeEmbedding(Tensor table, int[] ids, Tensor out);

    protected abstract void computeRotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out);

    protected abstract void computeSplitHeads(Tensor x, Tensor out);

    protected abstract void computeMergeHeads(Tensor x, Tensor out);

    protected abstract void computeSlice(Tensor x, int from, Tensor out);

    // ---------------------------------------------------------------- accounting

    /** @return the ledger of this backend's tensors, created on first use */
    final AllocationLedger ledger() {
        AllocationLedger l = ledger;
        if (l == null) {
            synchronized (this) {
                l = ledger;
                if (l == null) {
                    l = new AllocationLedger(name());
                    ledger = l;
                }
            }
        }
        return l;
    }

    /** @return live tensors and bytes of this backend, state backups included */
    @Override
    public final Allocations allocations() {
        return ledger().snapshot();
    }

    /**
     * Testing aid for fault handling: each of the next {@code count} kernels that update a state fails after it has
     * computed and before it returns, with an {@link IllegalStateException} whose message starts with
     * {@code "injected fault"}, as a device error reported at the end of a kernel would. The state is backed up
     * for those calls whatever {@link #computeLeavesStateOnFailure()} says, so the restore path is exercised on
     * this backend. {@code 0} disarms.
     *
     * @throws IllegalArgumentException when {@code count} is negative
     */
    public final void injectStateKernelFaults(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("count: expected >= 0, got " + count);
        }
        injectedFaults.set(count);
    }

    // ---------------------------------------------------------------- memory

    @Override
    public final Tensor allocate(Shape shape, DType dtype) {
        enter();
        try {
            open();
            notNull("shape", shape);
            notNull("dtype", dtype);
            precision(dtype);
            return allocateTensor(shape, dtype);
        } finally {
            exit();
        }
    }

    @Override
    public final Tensor upload(HostTensor host) {
        enter();
        try {
            open();
            notNull("host", host);
            precision(host.dtype());
            return uploadTensor(host);
        } finally {
            exit();
        }
    }

    @Override
    public final void download(Tensor src, HostTensor dst) {
        enter();
        try {
            open();
            owned("src", src);
            notNull("dst", dst);
            if (!dst.shape().equals(src.shape()) || dst.dtype() != src.dtype()) {
                throw new IllegalArgumentException("dst: expected " + src.dtype().label() + " " + src.shape()
                        + " like src, got " + dst.dtype().label() + " " + dst.shape());
            }
            try (Access a = new Access()) {
                a.read("src", src);
                downloadTensor(src, dst);
            }
        } finally {
            exit();
        }
    }

    /**
     * Frees every tensor still open and the device resources. Calls already running on other threads are waited
     * for (up to a minute), so closing never frees memory under a running kernel; calls made after it are refused
     * with {@link IllegalStateException}. Idempotent.
     */
    @Override
    public final void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        long deadline = System.nanoTime() + 60_000_000_000L;
        boolean interrupted = false;
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        try {
            backups.clear();
            ledger().closeAll();
        } finally {
            closeBackend();
        }
    }

    /** @return whether {@link #close()} has been called */
    public final boolean isClosed() {
        return closed;
    }

    // ---------------------------------------------------------------- feature maps

    @Override
    public final void featureMap(FeatureMap map, Tensor x, Tensor out) {
        enter();
        try {
            open();
            notNull("map", map);
            owned("x", x);
            owned("out", out);
            supported(Operation.FEATURE_MAP, x.dtype());
            featureMapSupported(map);
            Shape s = x.shape();
            if (s.rank() < 2 || s.dim(-1) != map.inputDim()) {
                throw new IllegalArgumentException("x: expected shape [..., seq, d=" + map.inputDim() + "], got " + s);
            }
            if (!map.hasDecodeForm() && s.rank() < 2) {
                throw new IllegalArgumentException("x: " + map.kind().label() + " needs a [..., seq, d] input");
            }
            expect("out", out, s.withLast(map.outputDim()), x.dtype());
            try (Access a = new Access()) {
                a.read("x", x).write("out", out);
                computeFeatureMap(map, x, out);
            }
        } finally {
            exit();
        }
    }

    // ---------------------------------------------------------------- linear attention

    @Override
    public final void linearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        enter();
        try {
            int seq = checkLinear(spec, q, k, v, state, out, false);
            try (Access a = attentionAccess(q, k, v, out, state)) {
                updateState(state, "linearAttentionPrefill",
                        () -> computeLinearAttentionPrefill(spec, q, k, v, state, out));
                state.advance(seq);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void linearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        enter();
        try {
            checkLinear(spec, q, k, v, state, out, true);
            try (Access a = attentionAccess(q, k, v, out, state)) {
                updateState(state, "linearAttentionDecode",
                        () -> computeLinearAttentionDecode(spec, q, k, v, state, out));
                state.advance(1);
            }
        } finally {
            exit();
        }
    }

    private int checkLinear(LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state,
            Tensor out, boolean decode) {
        open();
        notNull("spec", spec);
        Attn a = attention(q, k, v, out, spec.featureDim(), decode);
        supported(Operation.LINEAR_ATTENTION, a.dtype);
        featureMapSupported(spec.featureMap());
        notNull("state", state);
        stateTensor("state.kv", state.kv(), Shape.of(a.batch, a.heads, a.valueDim, spec.expandedDim()), a.dtype);
        stateTensor("state.z", state.z(), Shape.of(a.batch, a.heads, spec.expandedDim()), a.dtype);
        if (!spec.featureMap().hasDecodeForm()) {
            if (decode) {
                throw new UnsupportedOperationException("featureMap: " + spec.featureMap().kind().label()
                        + " depends on the length of the call and has a prefill form only; it cannot decode");
            }
            if (state.position() != 0) {
                throw new IllegalArgumentException("state: " + spec.featureMap().kind().label()
                        + " has a prefill form only and cannot continue from position " + state.position()
                        + "; expected a fresh state");
            }
        }
        return a.seq;
    }

    // ---------------------------------------------------------------- sliding window

    @Override
    public final void slidingWindowPrefill(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        enter();
        try {
            int seq = checkWindow(spec, q, k, v, state, out, false);
            try (Access a = attentionAccess(q, k, v, out, state)) {
                updateState(state, "slidingWindowPrefill",
                        () -> computeSlidingWindowPrefill(spec, q, k, v, state, out));
                state.advance(seq);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void slidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        enter();
        try {
            checkWindow(spec, q, k, v, state, out, true);
            try (Access a = attentionAccess(q, k, v, out, state)) {
                updateState(state, "slidingWindowDecode",
                        () -> computeSlidingWindowDecode(spec, q, k, v, state, out));
                state.advance(1);
            }
        } finally {
            exit();
        }
    }

    private int checkWindow(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out,
            boolean decode) {
        open();
        notNull("spec", spec);
        owned("q", q);
        Attn a = attention(q, k, v, out, q.shape().rank() == 4 ? q.shape().dim(3) : -1, decode);
        supported(Operation.SLIDING_WINDOW, a.dtype);
        notNull("state", state);
        if (state.lookback() != spec.lookback()) {
            throw new IllegalArgumentException("state: expected a window state with lookback " + lookbackText(spec.lookback())
                    + ", got " + lookbackText(state.lookback()));
        }
        stateTensor("state.keys", state.keys(), Shape.of(a.batch, a.heads, state.capacity(), a.keyDim), a.dtype);
        stateTensor("state.values", state.values(), Shape.of(a.batch, a.heads, state.capacity(), a.valueDim), a.dtype);
        if (spec.isUnbounded() && state.position() + a.seq > state.capacity()) {
            throw new IllegalArgumentException("state: the KV cache of full attention holds " + state.capacity()
                    + " tokens, " + state.position() + " used, cannot take " + a.seq + " more");
        }
        return a.seq;
    }

    private static String lookbackText(int lookback) {
        return lookback == SlidingWindowSpec.UNBOUNDED ? "unbounded" : String.valueOf(lookback);
    }

    // ---------------------------------------------------------------- fused

    @Override
    public final void basedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        enter();
        try {
            int seq = checkBased(spec, q, k, v, state, out, false);
            try (Access a = attentionAccess(q, k, v, out, state)) {
                updateState(state, "basedAttentionPrefill",
                        () -> computeBasedAttentionPrefill(spec, q, k, v, state, out));
                state.advance(seq);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void basedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        enter();
        try {
            checkBased(spec, q, k, v, state, out, true);
            try (Access a = attentionAccess(q, k, v, out, state)) {
                updateState(state, "basedAttentionDecode",
                        () -> computeBasedAttentionDecode(spec, q, k, v, state, out));
                state.advance(1);
            }
        } finally {
            exit();
        }
    }

    private int checkBased(BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state,
            Tensor out, boolean decode) {
        open();
        notNull("spec", spec);
        Attn a = attention(q, k, v, out, spec.featureMap().inputDim(), decode);
        supported(Operation.BASED_ATTENTION, a.dtype);
        featureMapSupported(spec.featureMap());
        notNull("state", state);
        if (state.lookback() != spec.lookback()) {
            throw new IllegalArgumentException("state: expected a fused state with lookback " + spec.lookback()
                    + ", got " + state.lookback());
        }
        int d = spec.featureMap().outputDim();
        stateTensor("state.far.kv", state.far().kv(), Shape.of(a.batch, a.heads, a.valueDim, d), a.dtype);
        stateTensor("state.far.z", state.far().z(), Shape.of(a.batch, a.heads, d), a.dtype);
        int cap = spec.lookback() + 1;
        stateTensor("state.near.keys", state.near().keys(), Shape.of(a.batch, a.heads, cap, a.keyDim), a.dtype);
        stateTensor("state.near.values", state.near().values(), Shape.of(a.batch, a.heads, cap, a.valueDim), a.dtype);
        return a.seq;
    }

    // ---------------------------------------------------------------- conv

    @Override
    public final void causalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        enter();
        try {
            open();
            owned("x", x);
            Shape s = x.shape();
            if (s.rank() != 3) {
                throw new IllegalArgumentException("x: expected shape [batch, seq, channels], got " + s);
            }
            supported(Operation.CAUSAL_CONV, x.dtype());
            owned("weight", weight);
            notNull("state", state);
            int kernel = state.kernelSize();
            expect("weight", weight, Shape.of(s.dim(2), kernel), x.dtype());
            stateTensor("state.window", state.window(), Shape.of(s.dim(0), s.dim(2), kernel), x.dtype());
            owned("out", out);
            expect("out", out, s, x.dtype());
            try (Access a = new Access()) {
                a.read("x", x).read("weight", weight).write("out", out);
                claimState(a, state);
                updateState(state, "causalConv", () -> computeCausalConv(x, weight, state, out));
                state.advance(s.dim(1));
            }
        } finally {
            exit();
        }
    }

    // ---------------------------------------------------------------- plumbing

    @Override
    public final void linear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        enter();
        try {
            open();
            owned("x", x);
            owned("weight", weight);
            supported(Operation.PLUMBING, x.dtype());
            Shape ws = weight.shape();
            if (ws.rank() != 2) {
                throw new IllegalArgumentException("weight: expected shape [out, in], got " + ws);
            }
            if (x.shape().dim(-1) != ws.dim(1)) {
                throw new IllegalArgumentException("x: expected last dimension in=" + ws.dim(1) + " to match weight "
                        + ws + ", got " + x.shape());
            }
            sameType("weight", weight, x.dtype());
            if (bias != null) {
                owned("bias", bias);
                expect("bias", bias, Shape.of(ws.dim(0)), x.dtype());
            }
            owned("out", out);
            expect("out", out, x.shape().withLast(ws.dim(0)), x.dtype());
            noAlias("out", out, x);
            try (Access a = new Access()) {
                a.read("x", x).read("weight", weight).read("bias", bias).write("out", out);
                computeLinear(x, weight, bias, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void rmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        enter();
        try {
            open();
            owned("x", x);
            supported(Operation.PLUMBING, x.dtype());
            owned("weight", weight);
            expect("weight", weight, Shape.of(x.shape().dim(-1)), x.dtype());
            if (!(eps > 0) || Double.isInfinite(eps)) {
                throw new IllegalArgumentException("eps: expected a finite value > 0, got " + eps);
            }
            owned("out", out);
            expect("out", out, x.shape(), x.dtype());
            try (Access a = new Access()) {
                a.write("out", out).read("x", x).read("weight", weight);
                computeRmsNorm(x, weight, eps, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void silu(Tensor x, Tensor out) {
        enter();
        try {
            unary(x, out);
            try (Access a = new Access()) {
                a.write("out", out).read("x", x);
                computeSilu(x, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void gelu(Tensor x, Tensor out) {
        enter();
        try {
            unary(x, out);
            try (Access a = new Access()) {
                a.write("out", out).read("x", x);
                computeGelu(x, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void add(Tensor a, Tensor b, Tensor out) {
        enter();
        try {
            binary(a, b, out);
            try (Access access = new Access()) {
                access.write("out", out).read("a", a).read("b", b);
                computeAdd(a, b, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void multiply(Tensor a, Tensor b, Tensor out) {
        enter();
        try {
            binary(a, b, out);
            try (Access access = new Access()) {
                access.write("out", out).read("a", a).read("b", b);
                computeMultiply(a, b, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void embedding(Tensor table, int[] ids, Tensor out) {
        enter();
        try {
            open();
            owned("table", table);
            supported(Operation.PLUMBING, table.dtype());
            Shape ts = table.shape();
            if (ts.rank() != 2) {
                throw new IllegalArgumentException("table: expected shape [vocab, d], got " + ts);
            }
            notNull("ids", ids);
            owned("out", out);
            Shape os = out.shape();
            if (os.dim(-1) != ts.dim(1) || os.rank() < 2) {
                throw new IllegalArgumentException("out: expected shape [..., d=" + ts.dim(1) + "], got " + os);
            }
            sameType("out", out, table.dtype());
            if (ids.length != os.elementCount() / ts.dim(1)) {
                throw new IllegalArgumentException("ids: expected " + os.elementCount() / ts.dim(1)
                        + " token ids for out " + os + ", got " + ids.length);
            }
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= ts.dim(0)) {
                    throw new IllegalArgumentException(
                            "ids: element " + i + " is " + ids[i] + ", expected a token id in [0, " + ts.dim(0) + ")");
                }
            }
            try (Access a = new Access()) {
                a.read("table", table).write("out", out);
                computeEmbedding(table, ids, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void rotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        enter();
        try {
            open();
            owned("x", x);
            supported(Operation.PLUMBING, x.dtype());
            Shape s = x.shape();
            if (s.rank() != 4) {
                throw new IllegalArgumentException("x: expected shape [batch, heads, seq, d], got " + s);
            }
            if (startPosition < 0) {
                throw new IllegalArgumentException("startPosition: expected >= 0, got " + startPosition);
            }
            if (rotaryDim < 2 || rotaryDim > s.dim(3) || rotaryDim % 2 != 0) {
                throw new IllegalArgumentException(
                        "rotaryDim: expected an even value in 2.." + s.dim(3) + ", got " + rotaryDim);
            }
            if (!(base > 1) || Double.isInfinite(base)) {
                throw new IllegalArgumentException("base: expected a finite value > 1, got " + base);
            }
            owned("out", out);
            expect("out", out, s, x.dtype());
            try (Access a = new Access()) {
                a.write("out", out).read("x", x);
                computeRotary(x, startPosition, rotaryDim, base, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void splitHeads(Tensor x, Tensor out) {
        enter();
        try {
            open();
            owned("x", x);
            owned("out", out);
            supported(Operation.PLUMBING, x.dtype());
            Shape s = x.shape();
            Shape o = out.shape();
            if (s.rank() != 3 || o.rank() != 4 || o.dim(0) != s.dim(0) || o.dim(2) != s.dim(1)
                    || (long) o.dim(1) * o.dim(3) != s.dim(2)) {
                throw new IllegalArgumentException("out: expected shape [batch=" + dimText(s, 0) + ", heads, seq="
                        + dimText(s, 1) + ", d] with heads*d=" + dimText(s, 2) + " for x " + s + ", got " + o);
            }
            sameType("out", out, x.dtype());
            noAlias("out", out, x);
            try (Access a = new Access()) {
                a.read("x", x).write("out", out);
                computeSplitHeads(x, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void mergeHeads(Tensor x, Tensor out) {
        enter();
        try {
            open();
            owned("x", x);
            owned("out", out);
            supported(Operation.PLUMBING, x.dtype());
            Shape s = x.shape();
            if (s.rank() != 4) {
                throw new IllegalArgumentException("x: expected shape [batch, heads, seq, d], got " + s);
            }
            expect("out", out, Shape.of(s.dim(0), s.dim(2), s.dim(1) * s.dim(3)), x.dtype());
            noAlias("out", out, x);
            try (Access a = new Access()) {
                a.read("x", x).write("out", out);
                computeMergeHeads(x, out);
            }
        } finally {
            exit();
        }
    }

    @Override
    public final void slice(Tensor x, int from, Tensor out) {
        enter();
        try {
            open();
            owned("x", x);
            owned("out", out);
            supported(Operation.PLUMBING, x.dtype());
            int n = x.shape().dim(-1);
            int m = out.shape().dim(-1);
            if (from < 0 || from + m > n) {
                throw new IllegalArgumentException("from: expected 0.." + (n - m) + " so that " + m + " columns fit in "
                        + n + ", got " + from);
            }
            expect("out", out, x.shape().withLast(m), x.dtype());
            noAlias("out", out, x);
            try (Access a = new Access()) {
                a.read("x", x).write("out", out);
                computeSlice(x, from, out);
            }
        } finally {
            exit();
        }
    }

    // ---------------------------------------------------------------- state updates

    private Access attentionAccess(Tensor q, Tensor k, Tensor v, Tensor out, RecurrentState state) {
        Access a = new Access();
        try {
            a.read("q", q).read("k", k).read("v", v).write("out", out);
            claimState(a, state);
            return a;
        } catch (RuntimeException e) {
            a.close();
            throw e;
        }
    }

    private static void claimState(Access a, RecurrentState state) {
        switch (state) {
            case LinearAttentionState s -> a.write("state.kv", s.kv()).write("state.z", s.z());
            case WindowState s -> a.write("state.keys", s.keys()).write("state.values", s.values());
            case BasedAttentionState s -> a.write("state.far.kv", s.far().kv()).write("state.far.z", s.far().z())
                    .write("state.near.keys", s.near().keys()).write("state.near.values", s.near().values());
            case ConvState s -> a.write("state.window", s.window());
        }
    }

    private static List<Tensor> tensorsOf(RecurrentState state) {
        return switch (state) {
            case LinearAttentionState s -> List.of(s.kv(), s.z());
            case WindowState s -> List.of(s.keys(), s.values());
            case BasedAttentionState s -> List.of(s.far().kv(), s.far().z(), s.near().keys(), s.near().values());
            case ConvState s -> List.of(s.window());
        };
    }

    private record BackupKey(Shape shape, DType dtype) {}

    /** Bound on idle backup tensors kept per shape and type, for reuse by the next calls. */
    private static final int BACKUPS_KEPT = 4;

    /**
     * Runs a kernel that updates {@code state}; when it throws, the state's tensors are as they were before (see
     * {@link #computeLeavesStateOnFailure()}).
     */
    private void updateState(RecurrentState state, String operation, Runnable compute) {
        boolean inject = injectedFaults.get() > 0 && injectedFaults.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
        if (!inject && computeLeavesStateOnFailure()) {
            compute.run();
            return;
        }
        List<Tensor> live = tensorsOf(state);
        Tensor[] saved = new Tensor[live.size()];
        try {
            for (int i = 0; i < saved.length; i++) {
                saved[i] = borrowBackup(live.get(i));
                copyTensor(live.get(i), saved[i]);
            }
            try {
                compute.run();
                if (inject) {
                    throw new IllegalStateException("injected fault: " + operation + " on backend " + name()
                            + " failed after computing (AbstractBackend.injectStateKernelFaults)");
                }
            } catch (RuntimeException | Error e) {
                try {
                    for (int i = 0; i < saved.length; i++) {
                        copyTensor(saved[i], live.get(i));
                    }
                } catch (RuntimeException | Error restoreFailure) {
                    e.addSuppressed(new IllegalStateException("state: restoring " + state + " after the failure of "
                            + operation + " failed too; the state is invalid, close it", restoreFailure));
                }
                throw e;
            }
        } finally {
            for (Tensor t : saved) {
                if (t != null) {
                    returnBackup(t);
                }
            }
        }
    }

    private Tensor borrowBackup(Tensor like) {
        ConcurrentLinkedQueue<Tensor> idle = backups.get(new BackupKey(like.shape(), like.dtype()));
        Tensor t = idle == null ? null : idle.poll();
        return t != null ? t : allocateTensor(like.shape(), like.dtype());
    }

    private void returnBackup(Tensor t) {
        ConcurrentLinkedQueue<Tensor> idle =
                backups.computeIfAbsent(new BackupKey(t.shape(), t.dtype()), k -> new ConcurrentLinkedQueue<>());
        if (closed || idle.size() >= BACKUPS_KEPT) {
            t.close();
        } else {
            idle.add(t);
        }
    }

    // ---------------------------------------------------------------- checks

    private record Attn(int batch, int heads, int seq, int keyDim, int valueDim, DType dtype) {}

    private Attn attention(Tensor q, Tensor k, Tensor v, Tensor out, int keyDim, boolean decode) {
        owned("q", q);
        owned("k", k);
        owned("v", v);
        owned("out", out);
        Shape qs = q.shape();
        if (qs.rank() != 4) {
            throw new IllegalArgumentException("q: expected shape [batch, heads, seq, f], got " + qs);
        }
        if (qs.dim(3) != keyDim) {
            throw new IllegalArgumentException("q: expected shape [batch=" + qs.dim(0) + ", heads=" + qs.dim(1)
                    + ", seq=" + qs.dim(2) + ", f=" + keyDim + "], got " + qs);
        }
        if (decode && qs.dim(2) != 1) {
            throw new IllegalArgumentException("q: decode takes one token, expected seq=1, got shape " + qs);
        }
        DType dtype = q.dtype();
        expect("k", k, qs, dtype);
        Shape vs = v.shape();
        if (vs.rank() != 4 || vs.dim(0) != qs.dim(0) || vs.dim(1) != qs.dim(1) || vs.dim(2) != qs.dim(2)) {
            throw new IllegalArgumentException("v: expected shape [batch=" + qs.dim(0) + ", heads=" + qs.dim(1)
                    + ", seq=" + qs.dim(2) + ", dv], got " + vs);
        }
        sameType("v", v, dtype);
        expect("out", out, vs, dtype);
        noAlias("out", out, q);
        noAlias("out", out, k);
        noAlias("out", out, v);
        return new Attn(qs.dim(0), qs.dim(1), qs.dim(2), keyDim, vs.dim(3), dtype);
    }

    private void unary(Tensor x, Tensor out) {
        open();
        owned("x", x);
        supported(Operation.PLUMBING, x.dtype());
        owned("out", out);
        expect("out", out, x.shape(), x.dtype());
    }

    private void binary(Tensor a, Tensor b, Tensor out) {
        open();
        owned("a", a);
        supported(Operation.PLUMBING, a.dtype());
        owned("b", b);
        expect("b", b, a.shape(), a.dtype());
        owned("out", out);
        expect("out", out, a.shape(), a.dtype());
    }

    private void stateTensor(String name, Tensor t, Shape shape, DType dtype) {
        owned(name, t);
        if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException(name + ": expected shape " + shape + " for these inputs, got " + t.shape());
        }
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(name + ": expected dtype " + dtype.label() + " like the inputs, got "
                    + t.dtype().label());
        }
    }

    private static String dimText(Shape s, int i) {
        return String.valueOf(s.dim(i));
    }

    /** Counts a public call in flight, so that {@link #close()} waits for it. */
    private void enter() {
        inFlight.incrementAndGet();
    }

    private void exit() {
        inFlight.decrementAndGet();
    }

    /** Throws {@link IllegalStateException} when this backend was closed. */
    protected final void open() {
        if (closed) {
            throw new IllegalStateException("backend: " + name() + " was closed and cannot be used again");
        }
    }

    private static void notNull(String name, Object value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": expected a value, got null");
        }
    }

    private void owned(String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": expected a tensor, got null");
        }
        if (t.backend() != this) {
            throw new IllegalArgumentException(name + ": expected a tensor of backend " + name() + ", got " + t
                    + " of backend " + t.backend().name() + " (copy it with download/upload)");
        }
        if (t.isClosed()) {
            String where = t instanceof AbstractTensor at ? " at " + at.closedAt() : "";
            throw new IllegalStateException(name + ": tensor closed: " + t + " was closed" + where + " and used again");
        }
    }

    private static void expect(String name, Tensor t, Shape shape, DType dtype) {
        if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException(name + ": expected shape " + shape + ", got " + t.shape());
        }
        sameType(name, t, dtype);
    }

    private static void sameType(String name, Tensor t, DType dtype) {
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(name + ": expected dtype " + dtype.label() + ", got " + t.dtype().label());
        }
    }

    private static void noAlias(String name, Tensor out, Tensor in) {
        if (out == in) {
            throw new IllegalArgumentException(name + ": must not be the same tensor as an input (" + in + ")");
        }
    }

    private void precision(DType dtype) {
        if (!capabilities().precisions().contains(dtype)) {
            throw new UnsupportedOperationException("dtype: backend " + name() + " does not compute in "
                    + dtype.label() + "; it supports " + capabilities().precisions());
        }
    }

    private void supported(Operation op, DType dtype) {
        Capabilities caps = capabilities();
        if (!caps.operations().contains(op)) {
            throw new UnsupportedOperationException(
                    op.name().toLowerCase(java.util.Locale.ROOT) + ": not implemented by backend " + name());
        }
        precision(dtype);
    }

    private void featureMapSupported(FeatureMap map) {
        if (!capabilities().supports(map)) {
            throw new UnsupportedOperationException(
                    "featureMap: " + map.kind().label() + " is not implemented by backend " + name());
        }
    }
}
