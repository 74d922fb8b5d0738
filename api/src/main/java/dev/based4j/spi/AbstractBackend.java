package dev.based4j.spi;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;

/**
 * Base class of backends: every public method validates its arguments (nulls, ownership, closed tensors,
 * shapes, types, ranges, capabilities) and only then calls the matching {@code compute...} method, which can
 * assume well-formed input. After a successful attention or convolution kernel it advances the state's position;
 * a {@code compute...} method must not. Messages follow the project's style: the parameter, the expected value,
 * what was found.
 */
public abstract class AbstractBackend implements Backend {
    private volatile boolean closed;

    // ---------------------------------------------------------------- what implementations write

    /** Allocates a zero-filled tensor; shape and type are valid. */
    protected abstract Tensor allocateTensor(Shape shape, DType dtype);

    /** Copies host data into a new tensor. */
    protected abstract Tensor uploadTensor(HostTensor host);

    /** Copies {@code src} into {@code dst}; shapes and types match. */
    protected abstract void downloadTensor(Tensor src, HostTensor dst);

    /** Frees device resources; called once. */
    protected abstract void closeBackend();

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

    // ---------------------------------------------------------------- memory

    @Override
    public final Tensor allocate(Shape shape, DType dtype) {
        open();
        notNull("shape", shape);
        notNull("dtype", dtype);
        precision(dtype);
        return allocateTensor(shape, dtype);
    }

    @Override
    public final Tensor upload(HostTensor host) {
        open();
        notNull("host", host);
        precision(host.dtype());
        return uploadTensor(host);
    }

    @Override
    public final void download(Tensor src, HostTensor dst) {
        open();
        owned("src", src);
        notNull("dst", dst);
        if (!dst.shape().equals(src.shape()) || dst.dtype() != src.dtype()) {
            throw new IllegalArgumentException("dst: expected " + src.dtype().label() + " " + src.shape()
                    + " like src, got " + dst.dtype().label() + " " + dst.shape());
        }
        downloadTensor(src, dst);
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
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
        computeFeatureMap(map, x, out);
    }

    // ---------------------------------------------------------------- linear attention

    @Override
    public final void linearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        int seq = checkLinear(spec, q, k, v, state, out, false);
        computeLinearAttentionPrefill(spec, q, k, v, state, out);
        state.advance(seq);
    }

    @Override
    public final void linearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        checkLinear(spec, q, k, v, state, out, true);
        computeLinearAttentionDecode(spec, q, k, v, state, out);
        state.advance(1);
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
        int seq = checkWindow(spec, q, k, v, state, out, false);
        computeSlidingWindowPrefill(spec, q, k, v, state, out);
        state.advance(seq);
    }

    @Override
    public final void slidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        checkWindow(spec, q, k, v, state, out, true);
        computeSlidingWindowDecode(spec, q, k, v, state, out);
        state.advance(1);
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
        int seq = checkBased(spec, q, k, v, state, out, false);
        computeBasedAttentionPrefill(spec, q, k, v, state, out);
        state.advance(seq);
    }

    @Override
    public final void basedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        checkBased(spec, q, k, v, state, out, true);
        computeBasedAttentionDecode(spec, q, k, v, state, out);
        state.advance(1);
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
        computeCausalConv(x, weight, state, out);
        state.advance(s.dim(1));
    }

    // ---------------------------------------------------------------- plumbing

    @Override
    public final void linear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
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
        computeLinear(x, weight, bias, out);
    }

    @Override
    public final void rmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
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
        computeRmsNorm(x, weight, eps, out);
    }

    @Override
    public final void silu(Tensor x, Tensor out) {
        unary(x, out);
        computeSilu(x, out);
    }

    @Override
    public final void gelu(Tensor x, Tensor out) {
        unary(x, out);
        computeGelu(x, out);
    }

    @Override
    public final void add(Tensor a, Tensor b, Tensor out) {
        binary(a, b, out);
        computeAdd(a, b, out);
    }

    @Override
    public final void multiply(Tensor a, Tensor b, Tensor out) {
        binary(a, b, out);
        computeMultiply(a, b, out);
    }

    @Override
    public final void embedding(Tensor table, int[] ids, Tensor out) {
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
        computeEmbedding(table, ids, out);
    }

    @Override
    public final void rotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
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
        computeRotary(x, startPosition, rotaryDim, base, out);
    }

    @Override
    public final void splitHeads(Tensor x, Tensor out) {
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
        computeSplitHeads(x, out);
    }

    @Override
    public final void mergeHeads(Tensor x, Tensor out) {
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
        computeMergeHeads(x, out);
    }

    @Override
    public final void slice(Tensor x, int from, Tensor out) {
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
        computeSlice(x, from, out);
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
