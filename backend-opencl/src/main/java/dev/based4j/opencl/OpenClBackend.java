package dev.based4j.opencl;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.opencl.kernels.BasedAttentionKernels;
import dev.based4j.opencl.kernels.ConvKernels;
import dev.based4j.opencl.kernels.FeatureMapKernels;
import dev.based4j.opencl.kernels.LinearAttentionKernels;
import dev.based4j.opencl.kernels.MapWeights;
import dev.based4j.opencl.kernels.PlumbingKernels;
import dev.based4j.opencl.kernels.SlidingWindowKernels;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.spi.AbstractBackend;
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
import java.util.Set;

/**
 * The OpenCL backend: one context and one in-order command queue on the selected device. Every kernel of the
 * surface runs as OpenCL C ({@code dev/based4j/opencl/kernels/*.cl}); F32 everywhere, F64 where the device has
 * {@code cl_khr_fp64}. Programs are compiled once per context and element type, on first use.
 *
 * <p>Kernels are enqueued without waiting; {@link #download} waits for everything enqueued before it. Create it
 * with {@link dev.based4j.Backends#select(String) Backends.select("opencl")}; closing it releases every tensor it
 * still owns and the context.
 */
public final class OpenClBackend extends AbstractBackend {
    private final OpenClDevice device;
    private final ClContext cl;
    private final MapWeights weights;
    private final Capabilities capabilities;

    OpenClBackend(ClDevices.Handle handle) {
        this.device = handle.info().withSelected(true);
        this.cl = ClContext.create(handle.platform(), handle.device(), device.localMemoryBytes(),
                device.maxWorkGroupSize());
        this.weights = new MapWeights(cl);
        Set<DType> precisions = device.fp64() ? EnumSet.of(DType.F32, DType.F64) : EnumSet.of(DType.F32);
        this.capabilities = Capabilities.everything(precisions);
    }

    @Override
    public String name() {
        return OpenClBackendProvider.NAME;
    }

    @Override
    public String device() {
        return device.describe();
    }

    /** @return the device this backend runs on */
    public OpenClDevice openClDevice() {
        return device;
    }

    @Override
    public Capabilities capabilities() {
        return capabilities;
    }

    /** Waits until every enqueued kernel has finished (for timing; downloads wait on their own). */
    public void finish() {
        open();
        cl.finish();
    }

    // ---------------------------------------------------------------- memory

    @Override
    protected Tensor allocateTensor(Shape shape, DType dtype) {
        return register(shape, dtype, cl.allocateZeroed(bytes(shape, dtype)));
    }

    @Override
    protected Tensor uploadTensor(HostTensor host) {
        return register(host.shape(), host.dtype(), cl.upload(host.segment()));
    }

    private OpenClTensor register(Shape shape, DType dtype, ClBuffer buffer) {
        return new OpenClTensor(shape, dtype, this, buffer);
    }

    private static long bytes(Shape shape, DType dtype) {
        return Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
    }

    @Override
    protected void downloadTensor(Tensor src, HostTensor dst) {
        cl.read(mem(src), dst.segment());
    }

    @Override
    protected void closeBackend() {
        // the base class has released the tensors still open
        weights.close();
        cl.close();
    }

    private static ClBuffer mem(Tensor t) {
        return ((OpenClTensor) t).buffer();
    }

    // ---------------------------------------------------------------- feature maps and attention

    @Override
    protected void computeFeatureMap(FeatureMap map, Tensor x, Tensor out) {
        Shape s = x.shape();
        long rows = s.elementCount() / s.dim(-1);
        FeatureMapKernels.apply(cl, weights, map, mem(x), mem(out), rows, s.dim(-2), x.dtype());
    }

    @Override
    protected void computeLinearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        LinearAttentionKernels.prefill(cl, weights, spec, mem(q), mem(k), mem(v), mem(state.kv()), mem(state.z()),
                mem(out), linearDims(q, v), q.dtype());
    }

    @Override
    protected void computeLinearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        LinearAttentionKernels.decode(cl, weights, spec, mem(q), mem(k), mem(v), mem(state.kv()), mem(state.z()),
                mem(out), linearDims(q, v), q.dtype());
    }

    private static LinearAttentionKernels.Dims linearDims(Tensor q, Tensor v) {
        Shape s = q.shape();
        return new LinearAttentionKernels.Dims(s.dim(0) * s.dim(1), s.dim(2), v.shape().dim(3));
    }

    @Override
    protected void computeSlidingWindowPrefill(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        slidingWindow(spec, q, k, v, state, out);
    }

    @Override
    protected void computeSlidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        slidingWindow(spec, q, k, v, state, out);
    }

    private void slidingWindow(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        Shape s = q.shape();
        var dims = new SlidingWindowKernels.Dims(s.dim(0) * s.dim(1), s.dim(2), s.dim(3), v.shape().dim(3),
                state.capacity());
        SlidingWindowKernels.run(cl, mem(q), mem(k), mem(v), mem(state.keys()), mem(state.values()), mem(out),
                state.position(), dims, spec.lookback(), spec.scaleFor(s.dim(3)), q.dtype());
    }

    @Override
    protected void computeBasedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        BasedAttentionKernels.run(cl, weights, spec, mem(q), mem(k), mem(v), mem(state.far().kv()),
                mem(state.far().z()), mem(state.near().keys()), mem(state.near().values()), mem(out),
                state.position(), basedDims(q, v), q.dtype());
    }

    @Override
    protected void computeBasedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        BasedAttentionKernels.decode(cl, weights, spec, mem(q), mem(k), mem(v), mem(state.far().kv()),
                mem(state.far().z()), mem(state.near().keys()), mem(state.near().values()), mem(out),
                state.position(), basedDims(q, v), q.dtype());
    }

    private static BasedAttentionKernels.Dims basedDims(Tensor q, Tensor v) {
        Shape s = q.shape();
        return new BasedAttentionKernels.Dims(s.dim(0) * s.dim(1), s.dim(2), s.dim(3), v.shape().dim(3));
    }

    @Override
    protected void computeCausalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        Shape s = x.shape();
        ConvKernels.causalConv(cl, mem(x), mem(weight), mem(state.window()), mem(out), s.dim(0), s.dim(1), s.dim(2),
                state.kernelSize(), x.dtype());
    }

    // ---------------------------------------------------------------- plumbing

    @Override
    protected void computeLinear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        int in = weight.shape().dim(1);
        PlumbingKernels.linear(cl, mem(x), mem(weight), bias == null ? null : mem(bias), mem(out),
                x.shape().elementCount() / in, in, weight.shape().dim(0), x.dtype());
    }

    @Override
    protected void computeRmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        int d = x.shape().dim(-1);
        PlumbingKernels.rmsNorm(cl, mem(x), mem(weight), eps, mem(out), x.shape().elementCount() / d, d, x.dtype());
    }

    @Override
    protected void computeSilu(Tensor x, Tensor out) {
        PlumbingKernels.unary(cl, "silu", mem(x), mem(out), x.shape().elementCount(), x.dtype());
    }

    @Override
    protected void computeGelu(Tensor x, Tensor out) {
        PlumbingKernels.unary(cl, "gelu", mem(x), mem(out), x.shape().elementCount(), x.dtype());
    }

    @Override
    protected void computeAdd(Tensor a, Tensor b, Tensor out) {
        PlumbingKernels.binary(cl, "add", mem(a), mem(b), mem(out), a.shape().elementCount(), a.dtype());
    }

    @Override
    protected void computeMultiply(Tensor a, Tensor b, Tensor out) {
        PlumbingKernels.binary(cl, "mul", mem(a), mem(b), mem(out), a.shape().elementCount(), a.dtype());
    }

    @Override
    protected void computeEmbedding(Tensor table, int[] ids, Tensor out) {
        PlumbingKernels.embedding(cl, mem(table), ids, mem(out), table.shape().dim(1), table.dtype());
    }

    @Override
    protected void computeRotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        Shape s = x.shape();
        PlumbingKernels.rotary(cl, mem(x), startPosition, rotaryDim, base, mem(out), (long) s.dim(0) * s.dim(1),
                s.dim(2), s.dim(3), x.dtype());
    }

    @Override
    protected void computeSplitHeads(Tensor x, Tensor out) {
        Shape o = out.shape();
        PlumbingKernels.heads(cl, "split_heads", mem(x), mem(out), o.elementCount(), o.dim(2), o.dim(1), o.dim(3),
                x.dtype());
    }

    @Override
    protected void computeMergeHeads(Tensor x, Tensor out) {
        Shape s = x.shape();
        PlumbingKernels.heads(cl, "merge_heads", mem(x), mem(out), s.elementCount(), s.dim(2), s.dim(1), s.dim(3),
                x.dtype());
    }

    @Override
    protected void computeSlice(Tensor x, int from, Tensor out) {
        int cols = x.shape().dim(-1);
        int width = out.shape().dim(-1);
        PlumbingKernels.slice(cl, mem(x), mem(out), x.shape().elementCount() / cols, cols, from, width, x.dtype());
    }

    @Override
    public String toString() {
        return "OpenClBackend[" + device.describe() + "]";
    }
}
