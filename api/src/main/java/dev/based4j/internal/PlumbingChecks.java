package dev.based4j.internal;

import static dev.based4j.internal.CallChecks.expect;
import static dev.based4j.internal.CallChecks.noAlias;
import static dev.based4j.internal.CallChecks.notNull;
import static dev.based4j.internal.CallChecks.sameType;

import dev.based4j.Operation;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;

/**
 * Validates the plumbing calls and turns them into the engine's call records, with the shared checks of
 * {@link CallChecks}.
 *
 * @param <B> the engine's memory handle
 */
final class PlumbingChecks<B> {
    private final CallChecks<B> checks;

    PlumbingChecks(CallChecks<B> checks) {
        this.checks = checks;
    }

    PlumbingFamily.LinearCall<B> linear(Tensor x, Weight weight, Tensor bias, Tensor out) {
        DeviceTensor<B> xt = checks.owned("x", x);
        notNull("weight", weight);
        DeviceTensor<B> wt = checks.owned("weight", weight.values());
        checks.supported(Operation.PLUMBING, x.dtype());
        Shape ws = weight.shape();
        if (ws.rank() != 2) {
            throw new IllegalArgumentException("weight: expected shape [out, in], got " + ws);
        }
        if (x.shape().dim(-1) != ws.dim(1)) {
            throw new IllegalArgumentException("x: expected last dimension in=" + ws.dim(1) + " to match weight "
                    + ws + ", got " + x.shape());
        }
        B scales = weightType("weight", weight, x.dtype());
        B biasBuffer = null;
        if (bias != null) {
            biasBuffer = checks.owned("bias", bias).buffer();
            expect("bias", bias, Shape.of(ws.dim(0)), x.dtype());
        }
        DeviceTensor<B> ot = checks.owned("out", out);
        expect("out", out, x.shape().withLast(ws.dim(0)), x.dtype());
        noAlias("out", out, x);
        return new PlumbingFamily.LinearCall<>(x.dtype(), x.shape().elementCount() / ws.dim(1), ws.dim(1), ws.dim(0),
                xt.buffer(), wt.buffer(), weight.type(), scales, weight.groupSize(), biasBuffer, ot.buffer());
    }

    /**
     * Checks a weight's storage type against the backend's and its scales against its values; the compute type is
     * {@code dtype}, that of the activations it multiplies.
     *
     * @return the scales' memory, or null for float storage
     */
    private B weightType(String name, Weight weight, DType dtype) {
        DType type = weight.type();
        if (type.isCompute()) {
            sameType(name, weight.values(), dtype);
            return null;
        }
        if (!checks.takesWeights(type)) {
            throw new UnsupportedOperationException(name + ": backend " + checks.backendName() + " does not take "
                    + type.label() + " weights; it takes " + checks.weightTypes());
        }
        if (type != DType.I8) {
            return null;
        }
        Shape ws = weight.shape();
        DeviceTensor<B> st = checks.owned(name + ".scales", weight.scales());
        int group = weight.groupSize();
        if (group != 0 && ws.dim(1) % group != 0) {
            throw new IllegalArgumentException(name + ".groupSize: expected a divisor of in=" + ws.dim(1) + ", got "
                    + group);
        }
        Shape expected = group == 0 ? Shape.of(ws.dim(0)) : Shape.of(ws.dim(0), ws.dim(1) / group);
        expect(name + ".scales", weight.scales(), expected, dtype);
        return st.buffer();
    }

    PlumbingFamily.NormCall<B> rmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        DeviceTensor<B> xt = checks.owned("x", x);
        checks.supported(Operation.PLUMBING, x.dtype());
        DeviceTensor<B> wt = checks.owned("weight", weight);
        int d = x.shape().dim(-1);
        expect("weight", weight, Shape.of(d), x.dtype());
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps: expected a finite value > 0, got " + eps);
        }
        DeviceTensor<B> ot = checks.owned("out", out);
        expect("out", out, x.shape(), x.dtype());
        return new PlumbingFamily.NormCall<>(x.dtype(), x.shape().elementCount() / d, d, eps, xt.buffer(),
                wt.buffer(), ot.buffer());
    }

    PlumbingFamily.UnaryCall<B> unary(Tensor x, Tensor out) {
        DeviceTensor<B> xt = checks.owned("x", x);
        checks.supported(Operation.PLUMBING, x.dtype());
        DeviceTensor<B> ot = checks.owned("out", out);
        expect("out", out, x.shape(), x.dtype());
        return new PlumbingFamily.UnaryCall<>(x.dtype(), x.shape().elementCount(), xt.buffer(), ot.buffer());
    }

    PlumbingFamily.BinaryCall<B> binary(Tensor a, Tensor b, Tensor out) {
        DeviceTensor<B> at = checks.owned("a", a);
        checks.supported(Operation.PLUMBING, a.dtype());
        DeviceTensor<B> bt = checks.owned("b", b);
        expect("b", b, a.shape(), a.dtype());
        DeviceTensor<B> ot = checks.owned("out", out);
        expect("out", out, a.shape(), a.dtype());
        return new PlumbingFamily.BinaryCall<>(a.dtype(), a.shape().elementCount(), at.buffer(), bt.buffer(),
                ot.buffer());
    }

    PlumbingFamily.EmbeddingCall<B> embedding(Weight table, int[] ids, Tensor out) {
        notNull("table", table);
        DeviceTensor<B> tt = checks.owned("table", table.values());
        DeviceTensor<B> ot = checks.owned("out", out);
        checks.supported(Operation.PLUMBING, out.dtype());
        Shape ts = table.shape();
        if (ts.rank() != 2) {
            throw new IllegalArgumentException("table: expected shape [vocab, d], got " + ts);
        }
        notNull("ids", ids);
        Shape os = out.shape();
        if (os.dim(-1) != ts.dim(1) || os.rank() < 2) {
            throw new IllegalArgumentException("out: expected shape [..., d=" + ts.dim(1) + "], got " + os);
        }
        B scales = weightType("table", table, out.dtype());
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
        // the engine may read the ids after the call returned (an enqueued kernel): it gets its own copy
        return new PlumbingFamily.EmbeddingCall<>(out.dtype(), ts.dim(0), ts.dim(1), ids.clone(), tt.buffer(),
                table.type(), scales, table.groupSize(), ot.buffer());
    }

    PlumbingFamily.RotaryCall<B> rotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        DeviceTensor<B> xt = checks.owned("x", x);
        checks.supported(Operation.PLUMBING, x.dtype());
        Shape s = x.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("x: expected shape [batch, heads, seq, d], got " + s);
        }
        if (startPosition < 0 || startPosition > Long.MAX_VALUE - s.dim(2)) {
            throw new IllegalArgumentException("startPosition: expected 0.." + (Long.MAX_VALUE - s.dim(2))
                    + ", got " + startPosition);
        }
        if (rotaryDim < 2 || rotaryDim > s.dim(3) || rotaryDim % 2 != 0) {
            throw new IllegalArgumentException(
                    "rotaryDim: expected an even value in 2.." + s.dim(3) + ", got " + rotaryDim);
        }
        if (!(base > 1) || Double.isInfinite(base)) {
            throw new IllegalArgumentException("base: expected a finite value > 1, got " + base);
        }
        DeviceTensor<B> ot = checks.owned("out", out);
        expect("out", out, s, x.dtype());
        return new PlumbingFamily.RotaryCall<>(x.dtype(), (long) s.dim(0) * s.dim(1), s.dim(2), s.dim(3),
                startPosition, rotaryDim, base, xt.buffer(), ot.buffer());
    }

    PlumbingFamily.HeadsCall<B> splitHeads(Tensor x, Tensor out) {
        DeviceTensor<B> xt = checks.owned("x", x);
        DeviceTensor<B> ot = checks.owned("out", out);
        checks.supported(Operation.PLUMBING, x.dtype());
        Shape s = x.shape();
        Shape o = out.shape();
        if (s.rank() != 3 || o.rank() != 4 || o.dim(0) != s.dim(0) || o.dim(2) != s.dim(1)
                || (long) o.dim(1) * o.dim(3) != s.dim(2)) {
            throw new IllegalArgumentException("out: expected shape [batch=" + dim(s, 0) + ", heads, seq="
                    + dim(s, 1) + ", d] with heads*d=" + dim(s, 2) + " for x " + s + ", got " + o);
        }
        sameType("out", out, x.dtype());
        noAlias("out", out, x);
        return new PlumbingFamily.HeadsCall<>(x.dtype(), o.dim(0), o.dim(2), o.dim(1), o.dim(3), xt.buffer(),
                ot.buffer());
    }

    private static String dim(Shape s, int i) {
        return i < s.rank() ? String.valueOf(s.dim(i)) : "?";
    }

    PlumbingFamily.HeadsCall<B> mergeHeads(Tensor x, Tensor out) {
        DeviceTensor<B> xt = checks.owned("x", x);
        DeviceTensor<B> ot = checks.owned("out", out);
        checks.supported(Operation.PLUMBING, x.dtype());
        Shape s = x.shape();
        if (s.rank() != 4) {
            throw new IllegalArgumentException("x: expected shape [batch, heads, seq, d], got " + s);
        }
        expect("out", out, Shape.of(s.dim(0), s.dim(2), s.dim(1) * s.dim(3)), x.dtype());
        noAlias("out", out, x);
        return new PlumbingFamily.HeadsCall<>(x.dtype(), s.dim(0), s.dim(2), s.dim(1), s.dim(3), xt.buffer(),
                ot.buffer());
    }

    PlumbingFamily.SliceCall<B> slice(Tensor x, int from, Tensor out) {
        DeviceTensor<B> xt = checks.owned("x", x);
        DeviceTensor<B> ot = checks.owned("out", out);
        checks.supported(Operation.PLUMBING, x.dtype());
        int n = x.shape().dim(-1);
        int m = out.shape().dim(-1);
        if (from < 0 || from > n - m) {
            throw new IllegalArgumentException("from: expected 0.." + (n - m) + " so that " + m + " columns fit in "
                    + n + ", got " + from);
        }
        expect("out", out, x.shape().withLast(m), x.dtype());
        noAlias("out", out, x);
        return new PlumbingFamily.SliceCall<>(x.dtype(), x.shape().elementCount() / n, n, from, m, xt.buffer(),
                ot.buffer());
    }
}
