package dev.based4j.cuda.kernels;

import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.cuda.device.Scratch;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Taylor;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.tensor.DType;

/**
 * Linear attention ({@code linear_attention.cu}). Taylor maps with {@code f ≤ 16} run the fused kernels that form
 * φ on the fly: chunked prefill (one block per head and 64 value columns, state in registers), the quadratic form
 * for short sequences when the chunked grid would leave most of the GPU idle, and decode for every head of every
 * sequence in one launch. Other maps compute φ(q), φ(k) ahead and run the generic kernel; their decode evaluates
 * φ inside the decode kernel. {@link PrefillAlgorithm#RECURRENT} runs the decode kernel token by token (one
 * launch per token). Chunk sizes are fixed per element type (64 tokens for f32, 32 for f64; the generic kernel
 * 32): the spec's {@code chunkSize} only changes rounding, never the function, and is not used here.
 */
public final class LinearAttentionKernels extends KernelFamily implements LinearAttentionFamily<CudaBuffer> {
    /** Largest Taylor input dimension of the fused kernels. */
    public static final int TAYLOR_MAX_F = 16;
    private static final int EV = 64;
    private static final int THREADS = 256;
    private static final int QUADRATIC_MAX_SEQ = 1024;

    private final FeatureMapKernels featureMaps;

    /** @param featureMaps evaluates φ and holds map weights */
    public LinearAttentionKernels(CudaContext context, Scratch scratch, FeatureMapKernels featureMaps) {
        super(context, scratch, "linear_attention");
        this.featureMaps = featureMaps;
    }

    /** Prefill of {@code q, k [B,H,L,f]}, {@code v [B,H,L,dv]} continuing from the state, into {@code out}. */
    @Override
    public void prefill(LinearAttentionFamily.Call<CudaBuffer> c) {
        int bh = int32("batch·heads", (long) c.batch() * c.heads());
        context.run(() -> prefill(c.spec().featureMap(), c.spec().algorithm(), ptr(c.q()), ptr(c.k()), ptr(c.v()),
                ptr(c.out()), 0, ptr(c.kv()), ptr(c.z()), bh, c.seq(), c.valueDim(), c.spec().eps(), 0, c.dtype()));
    }

    /** One token ({@code seq = 1}): update the state, then read out. */
    @Override
    public void decode(LinearAttentionFamily.Call<CudaBuffer> c) {
        int bh = int32("batch·heads", (long) c.batch() * c.heads());
        int dv = c.valueDim();
        FeatureMap map = c.spec().featureMap();
        DType dtype = c.dtype();
        context.run(() -> {
            if (decodeFits(map, dv, dtype)) {
                decodeToken(map, ptr(c.q()), ptr(c.k()), ptr(c.v()), ptr(c.out()), ptr(c.kv()), ptr(c.z()), bh, 1, 0,
                        dv, c.spec().eps(), dtype);
            } else {
                generic(map, ptr(c.q()), ptr(c.k()), ptr(c.v()), ptr(c.out()), 0, ptr(c.kv()), ptr(c.z()), bh, 1, dv,
                        c.spec().eps(), 0, dtype);
            }
        });
    }

    /**
     * Prefill on device pointers. With {@code denOut != 0} the raw numerators go to {@code out} and the
     * denominators without eps to {@code denOut} ({@code [B·H][L]}), for the fused layer; keys with index below
     * {@code kStart} do not exist.
     */
    void prefill(FeatureMap map, PrefillAlgorithm algorithm, long q, long k, long v, long out, long denOut, long kv,
            long z, int bh, int seq, int dv, double eps, int kStart, DType dtype) {
        boolean raw = denOut != 0;
        if (algorithm == PrefillAlgorithm.RECURRENT && !raw && kStart == 0 && map.hasDecodeForm()
                && decodeFits(map, dv, dtype)) {
            for (int t = 0; t < seq; t++) {
                decodeToken(map, q, k, v, out, kv, z, bh, seq, t, dv, eps, dtype);
            }
            return;
        }
        if (!taylorFits(map, dtype)) {
            generic(map, q, k, v, out, denOut, kv, z, bh, seq, dv, eps, kStart, dtype);
            return;
        }
        int chunk = chunk(dtype);
        int dvTiles = ceilDiv(dv, EV);
        boolean quadratic = switch (algorithm) {
            case QUADRATIC -> true;
            case CHUNKED, RECURRENT -> false;
            case AUTO -> seq > chunk && seq <= QUADRATIC_MAX_SEQ && (long) bh * dvTiles < context.multiprocessors();
        };
        int f = map.inputDim();
        int d = map.outputDim();
        long shared = taylorSharedBytes(d, chunk, dtype);
        if (quadratic) {
            int chunks = ceilDiv(seq, chunk);
            context.launch(kernel("la_taylor_quadratic", dtype), bh, chunks, dvTiles, THREADS, shared, a -> {
                a.ptr(q).ptr(k).ptr(v).ptr(out).ptr(denOut).ptr(kv).ptr(z).i32(seq).i32(f).i32(dv);
                scalar(a, dtype, eps);
                a.i32(kStart);
            });
            // segments of one head run in parallel; enough of them to give every multiprocessor two blocks
            int segments = Math.max(1, Math.min(chunks, 2 * context.multiprocessors() / Math.max(1, bh * dvTiles)));
            int perSegment = ceilDiv(chunks, segments);
            int used = ceilDiv(chunks, perSegment);
            context.launch(kernel("la_taylor_state_update", dtype), bh, dvTiles, used, THREADS, shared, a -> a
                    .ptr(k).ptr(v).ptr(kv).ptr(z).i32(seq).i32(f).i32(dv).i32(perSegment).i32(kStart));
            return;
        }
        long bytesZ = (long) bh * d * dtype.byteSize();
        // with several column blocks, each reads z at its start: the owner writes the new z elsewhere, copied after
        long zOut = dvTiles > 1 ? scratch.get("la_z_out", bytesZ) : z;
        context.launch(kernel("la_taylor_chunked", dtype), bh, dvTiles, 1, THREADS, shared, a -> {
            a.ptr(q).ptr(k).ptr(v).ptr(out).ptr(denOut).ptr(kv).ptr(z).ptr(zOut).i32(seq).i32(f).i32(dv);
            scalar(a, dtype, eps);
            a.i32(kStart);
        });
        if (zOut != z) {
            context.driver().memcpyDtoDAsync(z, zOut, bytesZ, context.stream());
        }
    }

    private void generic(FeatureMap map, long q, long k, long v, long out, long denOut, long kv, long z, int bh,
            int seq, int dv, double eps, int kStart, DType dtype) {
        int d = map.outputDim();
        long bytes = (long) bh * seq * d * dtype.byteSize();
        long phq = scratch.get("la_phi_q", bytes);
        long phk = scratch.get("la_phi_k", bytes);
        featureMaps.apply(map, q, phq, bh, seq, dtype);
        featureMaps.apply(map, k, phk, bh, seq, dtype);
        long shared = genericSharedBytes(dtype);
        context.launch(kernel("la_generic", dtype), bh, 1, 1, THREADS, shared, a -> {
            a.ptr(phq).ptr(phk).ptr(v).ptr(out).ptr(denOut).ptr(kv).ptr(z).i32(seq).i32(d).i32(dv);
            scalar(a, dtype, eps);
            a.i32(kStart);
        });
    }

    private void decodeToken(FeatureMap map, long q, long k, long v, long out, long kv, long z, int bh, int seq,
            int t, int dv, double eps, DType dtype) {
        FeatureMapKernels.MapParams p = featureMaps.params(map, dtype);
        int d = map.outputDim();
        long shared = (2L * d + dv + 1) * dtype.byteSize();
        context.launch(kernel("la_decode", dtype), bh, 1, 1, THREADS, shared, a -> {
            a.ptr(q).ptr(k).ptr(v).ptr(out).ptr(kv).ptr(z).i32(seq).i32(t).i32(map.inputDim()).i32(d).i32(dv)
                    .i32(p.kind());
            scalar(a, dtype, p.eps());
            a.ptr(p.w1()).ptr(p.w2());
            scalar(a, dtype, eps);
        });
    }

    private boolean decodeFits(FeatureMap map, int dv, DType dtype) {
        return (2L * map.outputDim() + dv + 1) * dtype.byteSize() <= context.maxSharedOptIn();
    }

    private boolean taylorFits(FeatureMap map, DType dtype) {
        return map instanceof Taylor t && t.inputDim() <= TAYLOR_MAX_F
                && taylorSharedBytes(t.outputDim(), chunk(dtype), dtype) <= context.maxSharedOptIn();
    }

    static int chunk(DType dtype) {
        return dtype == DType.F32 ? 64 : 32;
    }

    /** Mirrors {@code TaylorSmem} of linear_attention.cu. */
    static long taylorSharedBytes(int d, int chunk, DType dtype) {
        long elements = (long) d * EV + ((d + 3) & ~3) + (long) TAYLOR_MAX_F * chunk + 2L * chunk * (TAYLOR_MAX_F + 1)
                + (long) chunk * EV + (long) chunk * (chunk + 1) + 2L * chunk;
        return elements * dtype.byteSize();
    }

    /** Mirrors the carve-up of {@code la_generic_impl}: C = DT = EVG = 32. */
    static long genericSharedBytes(DType dtype) {
        int c = 32;
        int dt = 32;
        int evg = 32;
        long elements = (long) c * (c + 1) + c + 2L * c * (dt + 1) + dt + (long) evg * (dt + 1) + (long) c * evg + c;
        return elements * dtype.byteSize();
    }
}
