package dev.based4j.cuda.kernels;

import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.cuda.device.Scratch;
import dev.based4j.spi.SlidingWindowFamily;
import dev.based4j.tensor.DType;

/**
 * Sliding-window softmax attention over the ring buffer ({@code sliding_window.cu}): prefill reads positions
 * before the call from the ring and the rest from the call's inputs, then stores the call's last tokens in the
 * ring; decode attends and stores in one launch for every head of every sequence.
 */
public final class SlidingWindowKernels extends KernelFamily implements SlidingWindowFamily<CudaBuffer> {
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

    /** Prefill continuing from the ring. */
    @Override
    public void prefill(SlidingWindowFamily.Call<CudaBuffer> c) {
        int bh = int32("batch·heads", (long) c.batch() * c.heads());
        int dk = c.keyDim();
        int dv = c.valueDim();
        context.run(() -> {
            attend(ptr(c.q()), ptr(c.k()), ptr(c.v()), ptr(c.out()), ptr(c.keys()), ptr(c.values()), bh, c.seq(), dk,
                    dv, c.position(), lookback(c.spec()), c.capacity(), c.spec().scaleFor(dk), 0, 0, 0.0, 0,
                    c.dtype());
            writeRing(ptr(c.k()), ptr(c.v()), ptr(c.keys()), ptr(c.values()), bh, c.seq(), dk, dv, c.position(),
                    c.capacity(), c.dtype());
        });
    }

    /** One token: attend over the window, then store it in its slot. */
    @Override
    public void decode(SlidingWindowFamily.Call<CudaBuffer> c) {
        int bh = int32("batch·heads", (long) c.batch() * c.heads());
        int dk = c.keyDim();
        int dv = c.valueDim();
        DType dtype = c.dtype();
        long shared = ((long) dk + DECODE_WARPS * (VALUE_COLUMNS + 2L)) * dtype.byteSize();
        long lookback = lookback(c.spec());
        long pos = c.position();
        int cap = c.capacity();
        double scale = c.spec().scaleFor(dk);
        context.run(() -> context.launch(kernel("swa_decode", dtype), bh, 1, 1, 32 * DECODE_WARPS, shared, a -> {
            a.ptr(ptr(c.q())).ptr(ptr(c.k())).ptr(ptr(c.v())).ptr(ptr(c.out())).ptr(ptr(c.keys()))
                    .ptr(ptr(c.values())).i32(dk).i32(dv).i64(pos).i64(lookback).i32(cap);
            scalar(a, dtype, scale);
        }));
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
