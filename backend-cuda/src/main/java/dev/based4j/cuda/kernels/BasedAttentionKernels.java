package dev.based4j.cuda.kernels;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.cuda.device.Scratch;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.tensor.DType;

/**
 * The fused linear-plus-window layer ({@code based_attention.cu}). Prefill: the stream of keys that leave the
 * window during the call, linear attention of the queries over that stream (raw numerators and denominators,
 * advancing the far state), the exact window combined with it under one normaliser, and the ring update. Decode:
 * one launch for every head of every sequence.
 */
public final class BasedAttentionKernels extends KernelFamily implements BasedAttentionFamily<CudaBuffer> {
    private static final int STREAM_BLOCK = 256;
    private static final int DECODE_THREADS = 256;
    private static final int DECODE_WARPS = 8;

    private final FeatureMapKernels featureMaps;
    private final LinearAttentionKernels linear;
    private final SlidingWindowKernels window;

    /** Uses the linear-attention and sliding-window kernels for the two parts. */
    public BasedAttentionKernels(CudaContext context, Scratch scratch, FeatureMapKernels featureMaps,
            LinearAttentionKernels linear, SlidingWindowKernels window) {
        super(context, scratch, "based_attention");
        this.featureMaps = featureMaps;
        this.linear = linear;
        this.window = window;
    }

    /** Prefill continuing from the state. */
    @Override
    public void prefill(BasedAttentionFamily.Call<CudaBuffer> c) {
        int bh = int32("batch·heads", (long) c.batch() * c.heads());
        context.run(() -> prefillLocked(c, bh));
    }

    private void prefillLocked(BasedAttentionFamily.Call<CudaBuffer> c, int bh) {
        BasedAttentionSpec spec = c.spec();
        DType dtype = c.dtype();
        int seq = c.seq();
        int f = c.keyDim();
        int dv = c.valueDim();
        long pos0 = c.position();
        int cap = c.capacity();
        long q = ptr(c.q());
        long k = ptr(c.k());
        long v = ptr(c.v());
        long ringK = ptr(c.keys());
        long ringV = ptr(c.values());
        int size = dtype.byteSize();
        long ks = scratch.get("based_far_k", (long) bh * seq * f * size);
        long vs = scratch.get("based_far_v", (long) bh * seq * dv * size);
        long work = (long) bh * seq * (f + dv);
        context.launch(kernel("based_far_stream", dtype), gridFor(work, STREAM_BLOCK), 1, 1, STREAM_BLOCK, 0,
                a -> a.ptr(k).ptr(v).ptr(ringK).ptr(ringV).ptr(ks).ptr(vs).i32(bh).i32(seq).i32(f).i32(dv)
                        .i64(pos0).i32(cap));
        // stream entries at negative positions do not exist
        int kStart = (int) Math.max(0, Math.min(seq, cap - pos0));
        long farNum = scratch.get("based_far_num", (long) bh * seq * dv * size);
        long farDen = scratch.get("based_far_den", (long) bh * seq * size);
        linear.prefill(spec.featureMap(), PrefillAlgorithm.CHUNKED, q, ks, vs, farNum, farDen, ptr(c.kv()),
                ptr(c.z()), bh, seq, dv, 0.0, kStart, dtype);
        window.attend(q, k, v, ptr(c.out()), ringK, ringV, bh, seq, f, dv, pos0, spec.lookback(), cap,
                spec.effectiveScale(), farNum, farDen, spec.eps(), 1, dtype);
        window.writeRing(k, v, ringK, ringV, bh, seq, f, dv, pos0, cap, dtype);
    }

    /** One token: evict into the far state, store, attend. */
    @Override
    public void decode(BasedAttentionFamily.Call<CudaBuffer> c) {
        int bh = int32("batch·heads", (long) c.batch() * c.heads());
        context.run(() -> decodeLocked(c, bh));
    }

    private void decodeLocked(BasedAttentionFamily.Call<CudaBuffer> c, int bh) {
        BasedAttentionSpec spec = c.spec();
        DType dtype = c.dtype();
        FeatureMap map = spec.featureMap();
        int f = c.keyDim();
        int d = map.outputDim();
        int dv = c.valueDim();
        long shared = (2L * d + dv + 1 + f + DECODE_WARPS * (SlidingWindowKernels.VALUE_COLUMNS + 2L))
                * dtype.byteSize();
        if (shared > context.maxSharedOptIn()) {
            // a map too wide for one block's shared memory: the prefill path on one token is the same step
            prefillLocked(c, bh);
            return;
        }
        FeatureMapKernels.MapParams p = featureMaps.params(map, dtype);
        long pos = c.position();
        int lookback = spec.lookback();
        double scale = spec.effectiveScale();
        context.launch(kernel("based_decode", dtype), bh, 1, 1, DECODE_THREADS, shared, a -> {
            a.ptr(ptr(c.q())).ptr(ptr(c.k())).ptr(ptr(c.v())).ptr(ptr(c.out())).ptr(ptr(c.kv())).ptr(ptr(c.z()))
                    .ptr(ptr(c.keys())).ptr(ptr(c.values())).i32(f).i32(d).i32(dv).i64(pos).i32(lookback);
            scalar(a, dtype, scale);
            a.i32(p.kind());
            scalar(a, dtype, p.eps());
            a.ptr(p.w1()).ptr(p.w2());
            scalar(a, dtype, spec.eps());
        });
    }
}
