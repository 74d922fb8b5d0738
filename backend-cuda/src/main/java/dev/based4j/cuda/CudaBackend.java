package dev.based4j.cuda;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.cuda.driver.CudaDriver;
import dev.based4j.cuda.kernels.BasedAttentionKernels;
import dev.based4j.cuda.kernels.ConvKernels;
import dev.based4j.cuda.kernels.FeatureMapKernels;
import dev.based4j.cuda.kernels.LinearAttentionKernels;
import dev.based4j.cuda.kernels.PlumbingKernels;
import dev.based4j.cuda.kernels.SlidingWindowKernels;
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
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CUDA backend: every kernel of the surface in float32 and float64 on one NVIDIA GPU. Tensors live in device
 * memory; data crosses between host and device only in {@link #upload}, {@link #download} and for token ids. Every
 * operation is enqueued on one stream under a lock (so intermediate buffers are never shared by two calls in
 * flight) and returns without waiting for the device, except downloads; errors of a kernel that failed on the
 * device surface at the next download or synchronisation.
 */
public final class CudaBackend extends AbstractBackend {
    private static final Capabilities CAPABILITIES = Capabilities.everything(Set.of(DType.F32, DType.F64));

    private final CudaContext context;
    private final ReentrantLock lock = new ReentrantLock();
    private final Scratch scratch;
    private final FeatureMapKernels featureMaps;
    private final LinearAttentionKernels linear;
    private final SlidingWindowKernels window;
    private final BasedAttentionKernels based;
    private final ConvKernels conv;
    private final PlumbingKernels plumbing;

    CudaBackend(CudaContext context) {
        this.context = context;
        this.scratch = new Scratch(context);
        this.featureMaps = new FeatureMapKernels(context, scratch);
        this.linear = new LinearAttentionKernels(context, scratch, featureMaps);
        this.window = new SlidingWindowKernels(context, scratch);
        this.based = new BasedAttentionKernels(context, scratch, featureMaps, linear, window);
        this.conv = new ConvKernels(context, scratch);
        this.plumbing = new PlumbingKernels(context, scratch);
    }

    @Override
    public String name() {
        return CudaBackendProvider.NAME;
    }

    @Override
    public String device() {
        return context.describe();
    }

    /** @return every operation and feature map, in f32 and f64, no reduced precision */
    @Override
    public Capabilities capabilities() {
        return CAPABILITIES;
    }

    /** @return the device context (stream, kernels), for tools in this module such as the timing program */
    public CudaContext context() {
        return context;
    }

    // ---------------------------------------------------------------- memory

    @Override
    protected Tensor allocateTensor(Shape shape, DType dtype) {
        return guarded(() -> {
            long bytes = Math.multiplyExact(shape.elementCount(), (long) dtype.byteSize());
            long p = context.allocate(bytes);
            try {
                context.driver().memsetD8Async(p, (byte) 0, bytes, context.stream());
            } catch (RuntimeException e) {
                context.free(p);
                throw e;
            }
            return new CudaTensor(shape, dtype, this, p, bytes);
        });
    }

    @Override
    protected Tensor uploadTensor(HostTensor host) {
        return guarded(() -> {
            long bytes = host.segment().byteSize();
            long p = context.allocate(bytes);
            try {
                copyIn(p, host.segment(), bytes);
            } catch (RuntimeException e) {
                context.free(p);
                throw e;
            }
            return new CudaTensor(host.shape(), host.dtype(), this, p, bytes);
        });
    }

    private void copyIn(long dst, MemorySegment src, long bytes) {
        if (src.isNative()) {
            context.driver().memcpyHtoDAsync(dst, src, bytes, context.stream());
            return;
        }
        // a heap segment cannot be handed to the driver: stage it in native memory
        try (Arena a = Arena.ofConfined()) {
            MemorySegment staged = a.allocate(bytes, 64);
            staged.copyFrom(src);
            context.driver().memcpyHtoDAsync(dst, staged, bytes, context.stream());
            context.synchronize();
        }
    }

    @Override
    protected void downloadTensor(Tensor src, HostTensor dst) {
        guarded(() -> {
            CudaTensor t = (CudaTensor) src;
            MemorySegment target = dst.segment();
            if (target.isNative()) {
                context.driver().memcpyDtoHAsync(target, t.pointer(), t.bytes(), context.stream());
                context.synchronize();
            } else {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment staged = a.allocate(t.bytes(), 64);
                    context.driver().memcpyDtoHAsync(staged, t.pointer(), t.bytes(), context.stream());
                    context.synchronize();
                    target.copyFrom(staged);
                }
            }
            return null;
        });
    }

    /**
     * Copies {@code src} into {@code dst} on the device (same shape and type).
     *
     * @throws IllegalArgumentException when the shapes or types differ or a tensor is not this backend's
     */
    public void copy(Tensor src, Tensor dst) {
        open();
        if (!(src instanceof CudaTensor s) || s.backend() != this || !(dst instanceof CudaTensor d)
                || d.backend() != this) {
            throw new IllegalArgumentException("src, dst: expected tensors of backend cuda, got " + src + ", " + dst);
        }
        if (!s.shape().equals(d.shape()) || s.dtype() != d.dtype()) {
            throw new IllegalArgumentException("dst: expected " + s.dtype().label() + " " + s.shape() + " like src, got "
                    + d.dtype().label() + " " + d.shape());
        }
        guarded(() -> {
            context.driver().memcpyDtoDAsync(d.pointer(), s.pointer(), s.bytes(), context.stream());
            return null;
        });
    }

    /** Waits until the device has finished everything enqueued so far. */
    public void synchronize() {
        open();
        guarded(() -> {
            context.synchronize();
            return null;
        });
    }

    /**
     * Times device work with CUDA events recorded on the backend's stream around {@code work}.
     *
     * @return milliseconds of device time between the two events
     */
    public double elapsedMillis(Runnable work) {
        open();
        CudaDriver driver = context.driver();
        MemorySegment[] events = guarded(() -> new MemorySegment[] {
            driver.eventCreate(CudaDriver.EVENT_DEFAULT), driver.eventCreate(CudaDriver.EVENT_DEFAULT)
        });
        try {
            guarded(() -> {
                driver.eventRecord(events[0], context.stream());
                return null;
            });
            work.run();
            return guarded(() -> {
                driver.eventRecord(events[1], context.stream());
                driver.eventSynchronize(events[1]);
                return (double) driver.eventElapsedTime(events[0], events[1]);
            });
        } finally {
            guarded(() -> {
                driver.eventDestroy(events[0]);
                driver.eventDestroy(events[1]);
                return null;
            });
        }
    }

    /** Frees one tensor's device memory; the free action of every {@link CudaTensor}, on any thread. */
    void free(long pointer) {
        guarded(() -> {
            context.free(pointer);
            return null;
        });
    }

    @Override
    protected void closeBackend() {
        lock.lock();
        try {
            // the base class has freed the tensors still open
            try {
                context.makeCurrent();
                featureMaps.close();
                scratch.close();
            } catch (RuntimeException ignored) {
                // the context may already be unusable; its release below frees the device memory anyway
            }
            context.close();
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code body} under the lock with the context bound to this thread. */
    private <T> T guarded(java.util.function.Supplier<T> body) {
        lock.lock();
        try {
            context.makeCurrent();
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    private void run(Runnable body) {
        guarded(() -> {
            body.run();
            return null;
        });
    }

    // ---------------------------------------------------------------- kernels

    @Override
    protected void computeFeatureMap(FeatureMap map, Tensor x, Tensor out) {
        run(() -> featureMaps.apply(map, x, out));
    }

    @Override
    protected void computeLinearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        run(() -> linear.prefill(spec, q, k, v, state, out));
    }

    @Override
    protected void computeLinearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        run(() -> linear.decode(spec, q, k, v, state, out));
    }

    @Override
    protected void computeSlidingWindowPrefill(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        run(() -> window.prefill(spec, q, k, v, state, out));
    }

    @Override
    protected void computeSlidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        run(() -> window.decode(spec, q, k, v, state, out));
    }

    @Override
    protected void computeBasedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        run(() -> based.prefill(spec, q, k, v, state, out));
    }

    @Override
    protected void computeBasedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        run(() -> based.decode(spec, q, k, v, state, out));
    }

    @Override
    protected void computeCausalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        run(() -> conv.causalConv(x, weight, state, out));
    }

    @Override
    protected void computeLinear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        run(() -> plumbing.linear(x, weight, bias, out));
    }

    @Override
    protected void computeRmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        run(() -> plumbing.rmsNorm(x, weight, eps, out));
    }

    @Override
    protected void computeSilu(Tensor x, Tensor out) {
        run(() -> plumbing.silu(x, out));
    }

    @Override
    protected void computeGelu(Tensor x, Tensor out) {
        run(() -> plumbing.gelu(x, out));
    }

    @Override
    protected void computeAdd(Tensor a, Tensor b, Tensor out) {
        run(() -> plumbing.add(a, b, out));
    }

    @Override
    protected void computeMultiply(Tensor a, Tensor b, Tensor out) {
        run(() -> plumbing.multiply(a, b, out));
    }

    @Override
    protected void computeEmbedding(Tensor table, int[] ids, Tensor out) {
        run(() -> plumbing.embedding(table, ids, out));
    }

    @Override
    protected void computeRotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        run(() -> plumbing.rotary(x, startPosition, rotaryDim, base, out));
    }

    @Override
    protected void computeSplitHeads(Tensor x, Tensor out) {
        run(() -> plumbing.splitHeads(x, out));
    }

    @Override
    protected void computeMergeHeads(Tensor x, Tensor out) {
        run(() -> plumbing.mergeHeads(x, out));
    }

    @Override
    protected void computeSlice(Tensor x, int from, Tensor out) {
        run(() -> plumbing.slice(x, from, out));
    }
}
