package dev.based4j.internal;

import dev.based4j.Operation;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.spi.ConvFamily;
import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.spi.SlidingWindowFamily;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.StateFormat;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Locale;

/**
 * Validates the arguments of one backend's calls and turns them into the engine's call records: nulls, ownership,
 * closed tensors, shapes, types, ranges and capabilities, with messages that name the parameter, what was expected and
 * what was found. The plumbing calls are in {@link PlumbingChecks}.
 *
 * @param <B> the engine's memory handle
 */
final class CallChecks<B> {
    private final KernelBackend<B> owner;

    CallChecks(KernelBackend<B> owner) {
        this.owner = owner;
    }

    // ---------------------------------------------------------------- feature maps and attention

    FeatureMapFamily.Call<B> featureMap(FeatureMap map, Tensor x, Tensor out) {
        notNull("map", map);
        DeviceTensor<B> xt = owned("x", x);
        DeviceTensor<B> ot = owned("out", out);
        supported(Operation.FEATURE_MAP, x.dtype());
        featureMapSupported(Operation.FEATURE_MAP, map);
        Shape s = x.shape();
        if (s.rank() < 2 || s.dim(-1) != map.inputDim()) {
            throw new IllegalArgumentException("x: expected shape [..., seq, d=" + map.inputDim() + "], got " + s);
        }
        expect("out", out, s.withLast(map.outputDim()), x.dtype());
        int seq = s.dim(-2);
        return new FeatureMapFamily.Call<>(map, x.dtype(), s.elementCount() / ((long) seq * s.dim(-1)), seq,
                xt.buffer(), ot.buffer());
    }

    LinearAttentionFamily.Call<B> linear(LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v,
            LinearAttentionState state, Tensor out, boolean decode) {
        notNull("spec", spec);
        Attention<B> a = attention(q, k, v, out, spec.featureDim(), decode);
        supported(Operation.LINEAR_ATTENTION, a.dtype);
        featureMapSupported(Operation.LINEAR_ATTENTION, spec.featureMap());
        notNull("state", state);
        DeviceTensor<B> kv = stateTensor("state.kv", state.kv(),
                Shape.of(a.batch, a.heads, a.valueDim, spec.expandedDim()), a.dtype);
        DeviceTensor<B> z = stateTensor("state.z", state.z(), Shape.of(a.batch, a.heads, spec.expandedDim()), a.dtype);
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
        room(state.position(), a.seq);
        return new LinearAttentionFamily.Call<>(spec, a.dtype, a.batch, a.heads, a.seq, a.valueDim, a.q, a.k, a.v,
                kv.buffer(), z.buffer(), a.out);
    }

    SlidingWindowFamily.Call<B> window(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state,
            Tensor out, boolean decode) {
        notNull("spec", spec);
        owned("q", q);
        Attention<B> a = attention(q, k, v, out, q.shape().rank() == 4 ? q.shape().dim(3) : -1, decode);
        supported(Operation.SLIDING_WINDOW, a.dtype);
        notNull("state", state);
        if (state.lookback() != spec.lookback()) {
            throw new IllegalArgumentException("state: expected a window state with lookback "
                    + lookbackText(spec.lookback()) + ", got " + lookbackText(state.lookback()));
        }
        int capacity = state.capacity();
        DeviceTensor<B> keys = stateTensor("state.keys", state.keys(),
                Shape.of(a.batch, a.heads, capacity, a.keyDim), a.dtype);
        DeviceTensor<B> values = stateTensor("state.values", state.values(),
                Shape.of(a.batch, a.heads, capacity, a.valueDim), a.dtype);
        room(state.position(), a.seq);
        if (spec.isUnbounded() && state.position() + a.seq > capacity) {
            throw new IllegalArgumentException("state: the KV cache of full attention holds " + capacity
                    + " tokens, " + state.position() + " used, cannot take " + a.seq + " more");
        }
        return new SlidingWindowFamily.Call<>(spec, a.dtype, a.batch, a.heads, a.seq, a.keyDim, a.valueDim,
                state.position(), capacity, a.q, a.k, a.v, keys.buffer(), values.buffer(), a.out);
    }

    private static String lookbackText(int lookback) {
        return lookback == SlidingWindowSpec.UNBOUNDED ? "unbounded" : String.valueOf(lookback);
    }

    BasedAttentionFamily.Call<B> based(BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v,
            BasedAttentionState state, Tensor out, boolean decode) {
        notNull("spec", spec);
        Attention<B> a = attention(q, k, v, out, spec.featureMap().inputDim(), decode);
        supported(Operation.BASED_ATTENTION, a.dtype);
        featureMapSupported(Operation.BASED_ATTENTION, spec.featureMap());
        notNull("state", state);
        if (state.lookback() != spec.lookback()) {
            throw new IllegalArgumentException("state: expected a fused state with lookback " + spec.lookback()
                    + ", got " + state.lookback());
        }
        int d = spec.featureMap().outputDim();
        int cap = spec.lookback() + 1;
        DeviceTensor<B> kv = stateTensor("state.far.kv", state.far().kv(), Shape.of(a.batch, a.heads, a.valueDim, d),
                a.dtype);
        DeviceTensor<B> z = stateTensor("state.far.z", state.far().z(), Shape.of(a.batch, a.heads, d), a.dtype);
        DeviceTensor<B> keys = stateTensor("state.near.keys", state.near().keys(),
                Shape.of(a.batch, a.heads, cap, a.keyDim), a.dtype);
        DeviceTensor<B> values = stateTensor("state.near.values", state.near().values(),
                Shape.of(a.batch, a.heads, cap, a.valueDim), a.dtype);
        room(state.position(), a.seq);
        return new BasedAttentionFamily.Call<>(spec, a.dtype, a.batch, a.heads, a.seq, a.valueDim, state.position(),
                a.q, a.k, a.v, kv.buffer(), z.buffer(), keys.buffer(), values.buffer(), a.out);
    }

    ConvFamily.Call<B> conv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        DeviceTensor<B> xt = owned("x", x);
        Shape s = x.shape();
        if (s.rank() != 3) {
            throw new IllegalArgumentException("x: expected shape [batch, seq, channels], got " + s);
        }
        supported(Operation.CAUSAL_CONV, x.dtype());
        DeviceTensor<B> wt = owned("weight", weight);
        notNull("state", state);
        int kernel = state.kernelSize();
        expect("weight", weight, Shape.of(s.dim(2), kernel), x.dtype());
        DeviceTensor<B> window = stateTensor("state.window", state.window(), Shape.of(s.dim(0), s.dim(2), kernel),
                x.dtype());
        DeviceTensor<B> ot = owned("out", out);
        expect("out", out, s, x.dtype());
        room(state.position(), s.dim(1));
        return new ConvFamily.Call<>(x.dtype(), s.dim(0), s.dim(1), s.dim(2), kernel, xt.buffer(), wt.buffer(),
                window.buffer(), ot.buffer());
    }

    /** The inputs and output of an attention call, checked. */
    private record Attention<B>(int batch, int heads, int seq, int keyDim, int valueDim, DType dtype, B q, B k, B v,
            B out) {}

    private Attention<B> attention(Tensor q, Tensor k, Tensor v, Tensor out, int keyDim, boolean decode) {
        DeviceTensor<B> qt = owned("q", q);
        DeviceTensor<B> kt = owned("k", k);
        DeviceTensor<B> vt = owned("v", v);
        DeviceTensor<B> ot = owned("out", out);
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
        return new Attention<>(qs.dim(0), qs.dim(1), qs.dim(2), keyDim, vs.dim(3), dtype, qt.buffer(), kt.buffer(),
                vt.buffer(), ot.buffer());
    }

    /**
     * Checks a row copy and turns it into byte ranges.
     *
     * @param supplied whether the engine supplies a device copy
     */
    RowCopy<B> rows(Tensor src, int srcRow, Tensor dst, int dstRow, int rows, boolean supplied) {
        DeviceTensor<B> s = owned("src", src);
        DeviceTensor<B> d = owned("dst", dst);
        if (!supplied) {
            throw new UnsupportedOperationException("copyRows: backend " + owner.name()
                    + " supplies no device-side copy");
        }
        Shape ss = src.shape();
        Shape ds = dst.shape();
        if (ss.rank() != ds.rank() || !ss.with(0, 1).equals(ds.with(0, 1))) {
            throw new IllegalArgumentException("dst: expected the dimensions after the first of src " + ss
                    + ", got " + ds);
        }
        sameType("dst", dst, src.dtype());
        if (rows < 1) {
            throw new IllegalArgumentException("rows: expected >= 1, got " + rows);
        }
        if (srcRow < 0 || srcRow > ss.dim(0) - rows) {
            throw new IllegalArgumentException("srcRow: expected 0.." + (ss.dim(0) - rows) + " so that " + rows
                    + " rows fit in src " + ss + ", got " + srcRow);
        }
        if (dstRow < 0 || dstRow > ds.dim(0) - rows) {
            throw new IllegalArgumentException("dstRow: expected 0.." + (ds.dim(0) - rows) + " so that " + rows
                    + " rows fit in dst " + ds + ", got " + dstRow);
        }
        long rowBytes = ss.elementCount() / ss.dim(0) * src.dtype().byteSize();
        if (src == dst && Math.abs((long) srcRow - dstRow) < rows) {
            throw new IllegalArgumentException("dstRow: rows " + dstRow + ".." + (dstRow + rows - 1)
                    + " overlap the source rows " + srcRow + ".." + (srcRow + rows - 1) + " of the same tensor");
        }
        return new RowCopy<>(s.buffer(), srcRow * rowBytes, d.buffer(), dstRow * rowBytes, rows * rowBytes);
    }

    /** A validated row copy, in bytes. */
    record RowCopy<B>(B src, long srcOffset, B dst, long dstOffset, long bytes) {}

    // ---------------------------------------------------------------- shared checks

    /** A state must be able to take {@code tokens} more without passing the largest position, checked before it. */
    static void room(long position, int tokens) {
        if (tokens > StateFormat.MAX_POSITION - position) {
            throw new IllegalArgumentException("state: position " + position + " + " + tokens + " tokens would pass"
                    + " the largest position " + StateFormat.MAX_POSITION + " (2^53)");
        }
    }

    static void notNull(String name, Object value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": expected a value, got null");
        }
    }

    /** @return {@code t} as a tensor of this backend, open */
    @SuppressWarnings("unchecked")
    DeviceTensor<B> owned(String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": expected a tensor, got null");
        }
        if (!(t instanceof DeviceTensor<?> d) || d.owner() != owner) {
            String other = t.backend() == null ? "unknown" : t.backend().name();
            throw new IllegalArgumentException(name + ": expected a tensor of backend " + owner.name() + ", got " + t
                    + " of backend " + other + " (copy it with download/upload)");
        }
        if (t.isClosed()) {
            throw new IllegalStateException(name + ": tensor closed: " + t + " was closed at " + d.closedAt()
                    + " and used again");
        }
        return (DeviceTensor<B>) d;
    }

    DeviceTensor<B> stateTensor(String name, Tensor t, Shape shape, DType dtype) {
        DeviceTensor<B> d = owned(name, t);
        if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException(name + ": expected shape " + shape + " for these inputs, got "
                    + t.shape());
        }
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(name + ": expected dtype " + dtype.label() + " like the inputs, got "
                    + t.dtype().label());
        }
        return d;
    }

    static void expect(String name, Tensor t, Shape shape, DType dtype) {
        if (!t.shape().equals(shape)) {
            throw new IllegalArgumentException(name + ": expected shape " + shape + ", got " + t.shape());
        }
        sameType(name, t, dtype);
    }

    static void sameType(String name, Tensor t, DType dtype) {
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(name + ": expected dtype " + dtype.label() + ", got "
                    + t.dtype().label());
        }
    }

    static void noAlias(String name, Tensor out, Tensor in) {
        if (out == in) {
            throw new IllegalArgumentException(name + ": must not be the same tensor as an input (" + in + ")");
        }
    }

    String backendName() {
        return owner.name();
    }

    boolean takesWeights(DType type) {
        return owner.capabilities().takesWeights(type);
    }

    java.util.List<String> weightTypes() {
        return owner.capabilities().weightTypes().stream().map(DType::label).sorted().toList();
    }

    /** A tensor's type must be one the backend computes in or stores weights in. */
    void storable(DType dtype) {
        if (!owner.capabilities().precisions().contains(dtype) && !owner.capabilities().takesWeights(dtype)) {
            throw new UnsupportedOperationException("dtype: backend " + owner.name() + " does not compute in "
                    + dtype.label() + " nor store weights in it; it supports " + owner.capabilities().precisions()
                    + (owner.capabilities().weightTypes().isEmpty() ? "" : ", weights in "
                            + owner.capabilities().weightTypes()));
        }
    }

    void precision(DType dtype) {
        if (!owner.capabilities().precisions().contains(dtype)) {
            throw new UnsupportedOperationException("dtype: backend " + owner.name() + " does not compute in "
                    + dtype.label() + "; it supports " + owner.capabilities().precisions());
        }
    }

    void supported(Operation op, DType dtype) {
        if (!owner.capabilities().operations().contains(op)) {
            throw new UnsupportedOperationException(op.name().toLowerCase(Locale.ROOT)
                    + ": not implemented by backend " + owner.name());
        }
        precision(dtype);
    }

    private void featureMapSupported(Operation op, FeatureMap map) {
        if (!owner.capabilities().supports(op, map)) {
            throw new UnsupportedOperationException("featureMap: " + map.kind().label() + " is not implemented by backend "
                    + owner.name() + " for " + op.name().toLowerCase(Locale.ROOT));
        }
    }
}
