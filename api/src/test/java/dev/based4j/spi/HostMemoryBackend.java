package dev.based4j.spi;

import dev.based4j.Capabilities;
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
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A test double of a backend on host memory, for the base classes' own tests: element-wise add, copies and a
 * linear-attention "decode" that adds 1 to every element of the state and of {@code out} (not the real kernel;
 * only its effects on memory matter here). A hook runs inside that decode, after the state was written, so tests
 * can block or fail there.
 */
final class HostMemoryBackend extends AbstractBackend {
    final AtomicInteger freed = new AtomicInteger();
    volatile Consumer<String> insideDecode = where -> {};
    private final boolean leavesStateOnFailure;

    HostMemoryBackend(boolean leavesStateOnFailure) {
        this.leavesStateOnFailure = leavesStateOnFailure;
    }

    /** A tensor on one arena of its own; the free action closes the arena (never the tensor). */
    static final class HostMemoryTensor extends AbstractTensor {
        final MemorySegment segment;

        private HostMemoryTensor(Shape shape, DType dtype, HostMemoryBackend owner, Arena arena, MemorySegment seg) {
            super(shape, dtype, owner, seg.byteSize(), () -> {
                arena.close();
                owner.freed.incrementAndGet();
            });
            this.segment = seg;
        }

        static HostMemoryTensor allocate(Shape shape, DType dtype, HostMemoryBackend owner) {
            Arena arena = Arena.ofShared();
            return new HostMemoryTensor(shape, dtype, owner, arena,
                    arena.allocate(shape.elementCount() * dtype.byteSize(), 64));
        }
    }

    static MemorySegment seg(Tensor t) {
        return ((HostMemoryTensor) t).segment;
    }

    @Override
    public String name() {
        return "host-memory-test";
    }

    @Override
    public String device() {
        return "the test's heap";
    }

    @Override
    public Capabilities capabilities() {
        return Capabilities.everything(EnumSet.of(DType.F64));
    }

    @Override
    protected boolean computeLeavesStateOnFailure() {
        return leavesStateOnFailure;
    }

    @Override
    protected Tensor allocateTensor(Shape shape, DType dtype) {
        return HostMemoryTensor.allocate(shape, dtype, this);
    }

    @Override
    protected Tensor uploadTensor(HostTensor host) {
        HostMemoryTensor t = HostMemoryTensor.allocate(host.shape(), host.dtype(), this);
        MemorySegment.copy(host.segment(), 0, t.segment, 0, t.segment.byteSize());
        return t;
    }

    @Override
    protected void downloadTensor(Tensor src, HostTensor dst) {
        MemorySegment.copy(seg(src), 0, dst.segment(), 0, dst.segment().byteSize());
    }

    @Override
    protected void closeBackend() {}

    private static void addOne(Tensor t) {
        MemorySegment s = seg(t);
        for (long i = 0; i < t.shape().elementCount(); i++) {
            s.setAtIndex(ValueLayout.JAVA_DOUBLE, i, s.getAtIndex(ValueLayout.JAVA_DOUBLE, i) + 1);
        }
    }

    @Override
    protected void computeLinearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        addOne(state.kv());
        addOne(state.z());
        insideDecode.accept("after the state was written");
        addOne(out);
    }

    @Override
    protected void computeAdd(Tensor a, Tensor b, Tensor out) {
        MemorySegment x = seg(a);
        MemorySegment y = seg(b);
        MemorySegment o = seg(out);
        for (long i = 0; i < a.shape().elementCount(); i++) {
            o.setAtIndex(ValueLayout.JAVA_DOUBLE, i,
                    x.getAtIndex(ValueLayout.JAVA_DOUBLE, i) + y.getAtIndex(ValueLayout.JAVA_DOUBLE, i));
        }
    }

    @Override
    protected void computeSlice(Tensor x, int from, Tensor out) {
        MemorySegment.copy(seg(x), 0, seg(out), 0, seg(out).byteSize());
    }

    private static UnsupportedOperationException notHere() {
        return new UnsupportedOperationException("not in this test double");
    }

    @Override
    protected void computeFeatureMap(FeatureMap map, Tensor x, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeLinearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeSlidingWindowPrefill(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeSlidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeBasedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeBasedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeCausalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeLinear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeRmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeSilu(Tensor x, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeGelu(Tensor x, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeMultiply(Tensor a, Tensor b, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeEmbedding(Tensor table, int[] ids, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeRotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeSplitHeads(Tensor x, Tensor out) {
        throw notHere();
    }

    @Override
    protected void computeMergeHeads(Tensor x, Tensor out) {
        throw notHere();
    }
}
