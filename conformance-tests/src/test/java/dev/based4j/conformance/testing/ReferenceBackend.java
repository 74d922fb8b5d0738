package dev.based4j.conformance.testing;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.reference.Reference;
import dev.based4j.spi.AbstractBackend;
import dev.based4j.spi.AbstractTensor;
import dev.based4j.Capabilities;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.EnumSet;

/**
 * A test double: a backend whose every kernel is the float64 {@link Reference}, storing tensors in their own
 * precision (F32 values are rounded on every write). It lets the suite test itself without depending on a real
 * backend; subclasses break single kernels to prove the suite notices.
 */
public class ReferenceBackend extends AbstractBackend {
    private final String name;
    private final Capabilities capabilities;

    /** Every operation and feature map, in F32 and F64. */
    public ReferenceBackend() {
        this(Capabilities.everything(EnumSet.allOf(DType.class)));
    }

    /** Declares only {@code capabilities}. */
    public ReferenceBackend(Capabilities capabilities) {
        this("reference", capabilities);
    }

    /** Another name (to play a second, different backend), every operation. */
    public ReferenceBackend(String name) {
        this(name, Capabilities.everything(EnumSet.allOf(DType.class)));
    }

    private ReferenceBackend(String name, Capabilities capabilities) {
        this.name = name;
        this.capabilities = capabilities;
    }

    /** A host-memory tensor. */
    static final class RefTensor extends AbstractTensor {
        final HostTensor host;

        RefTensor(HostTensor host, ReferenceBackend owner) {
            super(host.shape(), host.dtype(), owner);
            this.host = host;
        }

        @Override
        protected void release() {
            // host memory belongs to an automatic arena; the garbage collector frees it
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String device() {
        return "host (float64 reference kernels, test double)";
    }

    @Override
    public Capabilities capabilities() {
        return capabilities;
    }

    protected static double[] get(Tensor t) {
        return ((RefTensor) t).host.toDoubleArray();
    }

    protected static void put(Tensor t, double[] values) {
        HostTensor h = ((RefTensor) t).host;
        for (int i = 0; i < values.length; i++) {
            h.setDouble(i, values[i]);
        }
    }

    @Override
    protected Tensor allocateTensor(Shape shape, DType dtype) {
        return new RefTensor(HostTensor.allocate(shape, dtype), this);
    }

    @Override
    protected Tensor uploadTensor(HostTensor host) {
        return new RefTensor(host.to(host.dtype()), this);
    }

    @Override
    protected void downloadTensor(Tensor src, HostTensor dst) {
        dst.segment().copyFrom(((RefTensor) src).host.segment());
    }

    @Override
    protected void closeBackend() {}

    @Override
    protected void computeFeatureMap(FeatureMap map, Tensor x, Tensor out) {
        Shape s = x.shape();
        int seq = s.dim(-2);
        int rows = Math.toIntExact(s.elementCount() / ((long) seq * s.dim(-1)));
        put(out, Reference.featureMap(map, get(x), rows, seq));
    }

    @Override
    protected void computeLinearAttentionPrefill(LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v,
            LinearAttentionState state, Tensor out) {
        Shape s = q.shape();
        double[] kv = get(state.kv());
        double[] z = get(state.z());
        put(out, Reference.linearAttention(spec, get(q), get(k), get(v), s.dim(0), s.dim(1), s.dim(2),
                v.shape().dim(3), kv, z));
        put(state.kv(), kv);
        put(state.z(), z);
    }

    @Override
    protected void computeLinearAttentionDecode(LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v,
            LinearAttentionState state, Tensor out) {
        computeLinearAttentionPrefill(spec, q, k, v, state, out);
    }

    @Override
    protected void computeSlidingWindowPrefill(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state,
            Tensor out) {
        Shape s = q.shape();
        double[] rk = get(state.keys());
        double[] rv = get(state.values());
        put(out, Reference.slidingWindow(spec, get(q), get(k), get(v), s.dim(0), s.dim(1), s.dim(2), s.dim(3),
                v.shape().dim(3), rk, rv, state.capacity(), state.position()));
        put(state.keys(), rk);
        put(state.values(), rv);
    }

    @Override
    protected void computeSlidingWindowDecode(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state,
            Tensor out) {
        computeSlidingWindowPrefill(spec, q, k, v, state, out);
    }

    @Override
    protected void computeBasedAttentionPrefill(BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v,
            BasedAttentionState state, Tensor out) {
        Shape s = q.shape();
        double[] kv = get(state.far().kv());
        double[] z = get(state.far().z());
        double[] rk = get(state.near().keys());
        double[] rv = get(state.near().values());
        put(out, Reference.basedAttention(spec, get(q), get(k), get(v), s.dim(0), s.dim(1), s.dim(2), v.shape().dim(3),
                kv, z, rk, rv, state.position()));
        put(state.far().kv(), kv);
        put(state.far().z(), z);
        put(state.near().keys(), rk);
        put(state.near().values(), rv);
    }

    @Override
    protected void computeBasedAttentionDecode(BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v,
            BasedAttentionState state, Tensor out) {
        computeBasedAttentionPrefill(spec, q, k, v, state, out);
    }

    @Override
    protected void computeCausalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        Shape s = x.shape();
        double[] window = get(state.window());
        put(out, Reference.causalConv(get(x), s.dim(0), s.dim(1), s.dim(2), get(weight), state.kernelSize(), window));
        put(state.window(), window);
    }

    @Override
    protected void computeLinear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        int in = weight.shape().dim(1);
        int rows = Math.toIntExact(x.shape().elementCount() / in);
        put(out, Reference.linear(get(x), rows, in, get(weight), weight.shape().dim(0), bias == null ? null : get(bias)));
    }

    @Override
    protected void computeRmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        int d = x.shape().dim(-1);
        put(out, Reference.rmsNorm(get(x), Math.toIntExact(x.shape().elementCount() / d), d, get(weight), eps));
    }

    @Override
    protected void computeSilu(Tensor x, Tensor out) {
        put(out, Reference.silu(get(x)));
    }

    @Override
    protected void computeGelu(Tensor x, Tensor out) {
        put(out, Reference.gelu(get(x)));
    }

    @Override
    protected void computeAdd(Tensor a, Tensor b, Tensor out) {
        double[] x = get(a);
        double[] y = get(b);
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
        put(out, x);
    }

    @Override
    protected void computeMultiply(Tensor a, Tensor b, Tensor out) {
        double[] x = get(a);
        double[] y = get(b);
        for (int i = 0; i < x.length; i++) {
            x[i] *= y[i];
        }
        put(out, x);
    }

    @Override
    protected void computeEmbedding(Tensor table, int[] ids, Tensor out) {
        put(out, Reference.embedding(get(table), table.shape().dim(1), ids));
    }

    @Override
    protected void computeRotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        Shape s = x.shape();
        put(out, Reference.rotary(get(x), s.dim(0) * s.dim(1), s.dim(2), s.dim(3), startPosition, rotaryDim, base));
    }

    @Override
    protected void computeSplitHeads(Tensor x, Tensor out) {
        Shape o = out.shape();
        put(out, Reference.splitHeads(get(x), o.dim(0), o.dim(2), o.dim(1), o.dim(3)));
    }

    @Override
    protected void computeMergeHeads(Tensor x, Tensor out) {
        Shape s = x.shape();
        put(out, Reference.mergeHeads(get(x), s.dim(0), s.dim(1), s.dim(2), s.dim(3)));
    }

    @Override
    protected void computeSlice(Tensor x, int from, Tensor out) {
        int n = x.shape().dim(-1);
        int m = out.shape().dim(-1);
        put(out, Reference.slice(get(x), Math.toIntExact(x.shape().elementCount() / n), n, from, m));
    }
}
