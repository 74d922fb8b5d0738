package dev.based4j.cpu;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.cpu.kernels.BasedAttentionKernels;
import dev.based4j.cpu.kernels.ConvKernels;
import dev.based4j.cpu.kernels.CpuPool;
import dev.based4j.cpu.kernels.F32Kernels;
import dev.based4j.cpu.kernels.FeatureMapKernels;
import dev.based4j.cpu.kernels.LinearAttentionKernels;
import dev.based4j.cpu.kernels.PlumbingKernels;
import dev.based4j.cpu.kernels.SlidingWindowKernels;
import dev.based4j.cpu.kernels.TaylorPacking;
import dev.based4j.featuremap.FeatureMap;
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
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The CPU backend: every kernel of the surface, for every feature map, in float64 (the reference path, which
 * calls {@link dev.based4j.reference.Reference}) and float32 (kernels of its own). Tensors live in native
 * memory; work runs on a fixed pool of worker threads, split over batch×heads (rows for matrix products).
 * Create it through {@link dev.based4j.Backends} or {@link CpuBackendProvider}; {@link #close()} frees every
 * tensor it still owns and stops the pool.
 */
public final class CpuBackend extends AbstractBackend {
    private static final Capabilities CAPABILITIES = Capabilities.everything(EnumSet.of(DType.F32, DType.F64));

    private final CpuPool pool;
    /** Idle native memory kept for reuse: up to 256 MiB, enough for every intermediate of a large model's step. */
    private final SegmentCache segments = new SegmentCache(256L << 20);
    private final F32Kernels kernels;
    private final String device;
    private final FeatureMapKernels featureMaps;
    private final LinearAttentionKernels linearAttention;
    private final SlidingWindowKernels slidingWindow;
    private final BasedAttentionKernels basedAttention;
    private final ConvKernels conv;
    private final PlumbingKernels plumbing;

    /**
     * @param threads worker threads including the caller, at least 1
     * @param kernels the float32 inner loops
     * @throws IllegalArgumentException when {@code threads} is below 1 or {@code kernels} is null
     */
    CpuBackend(int threads, F32Kernels kernels) {
        if (kernels == null) {
            throw new IllegalArgumentException("kernels: expected an F32Kernels implementation, got null");
        }
        this.pool = new CpuPool(threads);
        this.kernels = kernels;
        this.device = CpuBackendProvider.device(threads);
        this.featureMaps = new FeatureMapKernels(pool, kernels);
        this.linearAttention = new LinearAttentionKernels(pool, kernels);
        this.slidingWindow = new SlidingWindowKernels(pool, kernels);
        this.basedAttention = new BasedAttentionKernels(pool, kernels);
        this.conv = new ConvKernels(pool, kernels);
        this.plumbing = new PlumbingKernels(pool, kernels);
    }

    @Override
    public String name() {
        return CpuBackendProvider.NAME;
    }

    @Override
    public String device() {
        return device;
    }

    @Override
    public Capabilities capabilities() {
        return CAPABILITIES;
    }

    /** @return worker threads, the calling thread included */
    public int threads() {
        return pool.threads();
    }

    /** @return the float32 inner loops in use, {@code plain} or {@code vector (N-bit)} */
    public String f32Kernels() {
        return kernels.name();
    }

    @Override
    public String toString() {
        return "CpuBackend[" + device + ", f32 kernels " + kernels.name() + "]";
    }

    // ---------------------------------------------------------------- memory

    @Override
    protected Tensor allocateTensor(Shape shape, DType dtype) {
        return CpuTensor.allocate(shape, dtype, this);
    }

    @Override
    protected Tensor uploadTensor(HostTensor host) {
        if (host.segment().isReadOnly() && host.segment().isNative()) {
            // read-only memory cannot change under the tensor: view it instead of copying (memory-mapped weights
            // stay in the page cache once, not twice)
            return CpuTensor.view(host.shape(), host.dtype(), this, host.segment());
        }
        CpuTensor t = (CpuTensor) allocateTensor(host.shape(), host.dtype());
        MemorySegment.copy(host.segment(), 0, t.segment(), 0, t.segment().byteSize());
        return t;
    }

    @Override
    protected void downloadTensor(Tensor src, HostTensor dst) {
        MemorySegment s = seg(src);
        MemorySegment.copy(s, 0, dst.segment(), 0, s.byteSize());
    }

    /**
     * The CPU kernels cannot fail once the base class has validated their arguments: they touch only memory the
     * checks have sized and an interrupt does not stop them. Only a VM error (an {@code OutOfMemoryError} while a
     * worker grows its scratch buffer) could stop one part-way, and that is not recovered: so no state backup is
     * taken, which would double the memory traffic of a decode step.
     */
    @Override
    protected boolean computeLeavesStateOnFailure() {
        return true;
    }

    @Override
    protected void closeBackend() {
        // the base class has freed the tensors still open, so every block is idle now
        segments.close();
        pool.close();
    }

    SegmentCache segments() {
        return segments;
    }

    private static MemorySegment seg(Tensor t) {
        return ((CpuTensor) t).segment();
    }

    // ---------------------------------------------------------------- attention

    @Override
    protected void computeFeatureMap(FeatureMap map, Tensor x, Tensor out) {
        Shape s = x.shape();
        int seq = s.dim(-2);
        int rows = Math.toIntExact(s.elementCount() / ((long) seq * s.dim(-1)));
        featureMaps.apply(x.dtype(), map, seg(x), rows, seq, seg(out));
    }

    @Override
    protected void computeLinearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        Shape s = v.shape();
        linearAttention.prefill(q.dtype(), spec, s.dim(0), s.dim(1), s.dim(2), s.dim(3), seg(q), seg(k), seg(v),
                stateSegment(q.dtype(), spec.featureMap(), state.kv()), stateSegment(q.dtype(), spec.featureMap(), state.z()),
                seg(out));
    }

    @Override
    protected void computeLinearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        Shape s = v.shape();
        linearAttention.decode(q.dtype(), spec, s.dim(0), s.dim(1), s.dim(3), seg(q), seg(k), seg(v),
                stateSegment(q.dtype(), spec.featureMap(), state.kv()), stateSegment(q.dtype(), spec.featureMap(), state.z()),
                seg(out));
    }

    /**
     * A linear-attention state tensor (or the fused layer's far state) as the kernels take it: in the packed layout
     * of {@link TaylorPacking} when it {@link TaylorPacking#applies} (it stays packed until something else reads
     * it), else canonical.
     */
    private static MemorySegment stateSegment(DType dtype, FeatureMap map, Tensor t) {
        return TaylorPacking.applies(dtype, map) ? ((CpuTensor) t).packedTaylor(map.inputDim()) : seg(t);
    }

    @Override
    protected void computeSlidingWindowPrefill(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        window(spec, q, k, v, state, out);
    }

    @Override
    protected void computeSlidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        window(spec, q, k, v, state, out);
    }

    private void window(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        Shape s = v.shape();
        slidingWindow.apply(q.dtype(), spec, s.dim(0), s.dim(1), s.dim(2), q.shape().dim(3), s.dim(3), seg(q),
                seg(k), seg(v), seg(state.keys()), seg(state.values()), state.capacity(), state.position(),
                seg(out));
    }

    @Override
    protected void computeBasedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        based(spec, q, k, v, state, out);
    }

    @Override
    protected void computeBasedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        based(spec, q, k, v, state, out);
    }

    private void based(BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        Shape s = v.shape();
        MemorySegment kv = stateSegment(q.dtype(), spec.featureMap(), state.far().kv());
        MemorySegment z = stateSegment(q.dtype(), spec.featureMap(), state.far().z());
        basedAttention.apply(q.dtype(), spec, s.dim(0), s.dim(1), s.dim(2), s.dim(3), seg(q), seg(k), seg(v), kv, z,
                seg(state.near().keys()), seg(state.near().values()), state.position(), seg(out));
    }

    @Override
    protected void computeCausalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        Shape s = x.shape();
        conv.apply(x.dtype(), s.dim(0), s.dim(1), s.dim(2), state.kernelSize(), seg(x), seg(weight),
                seg(state.window()), seg(out));
    }

    // ---------------------------------------------------------------- plumbing

    @Override
    protected void computeLinear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        int in = weight.shape().dim(1);
        int rows = Math.toIntExact(x.shape().elementCount() / in);
        plumbing.linear(x.dtype(), seg(x), rows, in, seg(weight), weight.shape().dim(0),
                bias == null ? null : seg(bias), seg(out));
    }

    @Override
    protected void computeRmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        int d = x.shape().dim(-1);
        plumbing.rmsNorm(x.dtype(), seg(x), Math.toIntExact(x.shape().elementCount() / d), d, seg(weight), eps,
                seg(out));
    }

    @Override
    protected void computeSilu(Tensor x, Tensor out) {
        plumbing.silu(x.dtype(), seg(x), x.shape().elementCount(), seg(out));
    }

    @Override
    protected void computeGelu(Tensor x, Tensor out) {
        plumbing.gelu(x.dtype(), seg(x), x.shape().elementCount(), seg(out));
    }

    @Override
    protected void computeAdd(Tensor a, Tensor b, Tensor out) {
        plumbing.add(a.dtype(), seg(a), seg(b), a.shape().elementCount(), seg(out));
    }

    @Override
    protected void computeMultiply(Tensor a, Tensor b, Tensor out) {
        plumbing.multiply(a.dtype(), seg(a), seg(b), a.shape().elementCount(), seg(out));
    }

    @Override
    protected void computeEmbedding(Tensor table, int[] ids, Tensor out) {
        plumbing.embedding(table.dtype(), seg(table), table.shape().dim(1), ids, seg(out));
    }

    @Override
    protected void computeRotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        Shape s = x.shape();
        plumbing.rotary(x.dtype(), seg(x), s.dim(0) * s.dim(1), s.dim(2), s.dim(3), startPosition, rotaryDim, base,
                seg(out));
    }

    @Override
    protected void computeSplitHeads(Tensor x, Tensor out) {
        Shape o = out.shape();
        plumbing.splitHeads(x.dtype(), seg(x), o.dim(0), o.dim(2), o.dim(1), o.dim(3), seg(out));
    }

    @Override
    protected void computeMergeHeads(Tensor x, Tensor out) {
        Shape s = x.shape();
        plumbing.mergeHeads(x.dtype(), seg(x), s.dim(0), s.dim(1), s.dim(2), s.dim(3), seg(out));
    }

    @Override
    protected void computeSlice(Tensor x, int from, Tensor out) {
        int n = x.shape().dim(-1);
        int width = out.shape().dim(-1);
        plumbing.slice(x.dtype(), seg(x), x.shape().elementCount() / n, n, from, width, seg(out));
    }
}
