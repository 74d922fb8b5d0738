package dev.based4j.cuda.kernels;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.cuda.CudaContext;
import dev.based4j.cuda.Scratch;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;

/**
 * Sliding-window softmax attention over the ring buffer ({@code sliding_window.cu}): prefill reads positions
 * before the call from the ring and the rest from the call's inputs, then stores the call's last tokens in the
 * ring; decode attends and stores in one launch for every head of every sequence.
 */
public final class SlidingWindowKernels extends KernelFamily {
    static final int QUERIES_PER_BLOCK = 16;
    static final int KEYS_PER_TILE = 32;
    static final int VALUE_COLUMNS = 128;
    private static final int PREFILL_THREADS = 128;
    private static final int DECODE_WARPS = 4;
    private static final int RING_BLOCK = 256;
    /** A lookback the kernels treat as "every earlier token" (no 64-bit overflow in p − lookback − 1). */
    static final long UNBOUNDED_LOOKBACK = Long.MAX_VALUE / 4;

    /** @param context the device */
    public SlidingWindowKernels(CudaContext context, Scratch scratch) {
        super(context, scratch, "sliding_window");
    }

    /** Prefill continuing from the ring in {@code state}. */
    public void prefill(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        int dk = q.shape().dim(3);
        attend(ptr(q), ptr(k), ptr(v), ptr(out), ptr(state.keys()), ptr(state.values()),
                q.shape().dim(0) * q.shape().dim(1), q.shape().dim(2), dk, v.shape().dim(3), state.position(),
                lookback(spec), state.capacity(), spec.scaleFor(dk), 0, 0, 0.0, 0, q.dtype());
        writeRing(ptr(k), ptr(v), ptr(state.keys()), ptr(state.values()), q.shape().dim(0) * q.shape().dim(1),
                q.shape().dim(2), dk, v.shape().dim(3), state.position(), state.capacity(), q.dtype());
    }

    /** One token: attend over the window, then store it in its slot. */
    public void decode(SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        int dk = q.shape().dim(3);
        int dv = v.shape().dim(3);
        DType dtype = q.dtype();
        long shared = ((long) dk + DECODE_WARPS * (VALUE_COLUMNS + 2L)) * dtype.byteSize();
        long lookback = lookback(spec);
        long pos = state.position();
        int cap = state.capacity();
        double scale = spec.scaleFor(dk);
        context.launch(kernel("swa_decode", dtype), q.shape().dim(0) * q.shape().dim(1), 1, 1, 32 * DECODE_WARPS,
                shared, a -> {
                    a.ptr(ptr(q)).ptr(ptr(k)).ptr(ptr(v)).ptr(ptr(out)).ptr(ptr(state.keys()))
                            .ptr(ptr(state.values())).i32(dk).i32(dv).i64(pos).i64(lookback).i32(cap);
                    scalar(a, dtype, scale);
                });
    }

    /**
     * The window part on device pointers; with {@code fused != 0} combined with the far numerators and
     * denominators of the fused layer under one normaliser ({@code eps} is the fused layer's).
     */
    void attend(long q, long k, long v, long out, long ringK, long ringV, int bh, int seq, int dk, int dv, long pos0,
            long lookback, int cap, double scale, long farNum, long farDen, double eps, int fused, DType dtype) {
        long shared = ((long) QUERIES_PER_BLOCK * dk + (long) KEYS_PER_TILE * (dk + 1)
                + (long) KEYS_PER_TILE * VALUE_COLUMNS) * dtype.byteSize();
        context.launch(kernel("swa_prefill", dtype), bh, ceilDiv(seq, QUERIES_PER_BLOCK), ceilDiv(dv, VALUE_COLUMNS),
                PREFILL_THREADS, shared, a -> {
                    a.ptr(q).ptr(k).ptr(v).ptr(out).ptr(ringK).ptr(ringV).i32(seq).i32(dk).i32(dv).i64(pos0)
                            .i64(lookback).i32(cap);
                    scalar(a, dtype, scale);
                    a.ptr(farNum).ptr(farDen);
                    scalar(a, dtype, eps);
                    a.i32(fused);
                });
    }

    /** Stores the call's last {@code min(seq, cap)} tokens in their ring slots. */
    void writeRing(long k, long v, long ringK, long ringV, int bh, int seq, int dk, int dv, long pos0, int cap,
            DType dtype) {
        long work = (long) bh * Math.min(seq, cap) * (dk + dv);
        context.launch(kernel("swa_ring_write", dtype), gridFor(work, RING_BLOCK), 1, 1, RING_BLOCK, 0,
                a -> a.ptr(k).ptr(v).ptr(ringK).ptr(ringV).i32(bh).i32(seq).i32(dk).i32(dv).i64(pos0).i32(cap));
    }

    static long lookback(SlidingWindowSpec spec) {
        return spec.isUnbounded() ? UNBOUNDED_LOOKBACK : spec.lookback();
    }
}
