package dev.based4j.cpu.kernels;

import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.Taylor;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * Causal linear attention continuing from a state ({@code based-math.md} b): per head,
 * {@code y_n = (φ(q_n)·S + Σ_{m≤n} (φ(q_n)·φ(k_m)) v_m) / (φ(q_n)·z + Σ_{m≤n} φ(q_n)·φ(k_m) + eps)}, after which
 * {@code S += Σ_m v_m ⊗ φ(k_m)} and {@code z += Σ_m φ(k_m)}. Layouts: {@code q, k [batch, heads, seq, f]},
 * {@code v, out [batch, heads, seq, dv]}, state {@code kv [batch, heads, dv, D]} (value dimension first) and
 * {@code z [batch, heads, D]}.
 *
 * <p>Float32 prefill has three forms with the same result up to rounding: the masked quadratic form, the
 * chunked form (the state carried from chunk to chunk) and the recurrent form (the decode step token by token).
 * {@link PrefillAlgorithm#AUTO} takes whichever costs fewer multiply-adds. One task per (batch, head).
 */
public final class LinearAttentionKernels implements LinearAttentionFamily<CpuBuffer> {
    /** Query rows per block of the quadratic form: bounds the score matrix to {@code QUERY_BLOCK × seq}. */
    private static final int QUERY_BLOCK = 64;

    /** The weight of a key in {@code z}: {@code z += 1·φ(k)}. */
    private static final float[] ONE = {1f};

    /**
     * A query-key pair of the quadratic form (score, masking, the normaliser's sum in double, a weighted value row)
     * against a multiply-add of the chunked form's state products, which run as register-tiled matrix products:
     * measured with JMH, {@code LinearAttentionPrefillBenchmark}, 2 threads, B = 1, seq 32..512.
     */
    static final double PAIR_COST = 1.45;

    /** How float32 prefill is evaluated. */
    enum Form {
        QUADRATIC, CHUNKED, RECURRENT
    }

    private final CpuPool pool;
    private final F32Kernels kernels;

    /** @param kernels the float32 inner loops */
    public LinearAttentionKernels(CpuPool pool, F32Kernels kernels) {
        this.pool = pool;
        this.kernels = kernels;
    }

    /**
     * Prefill of {@code seq} tokens per head; the state is updated in place (its position is not touched), in the
     * {@link TaylorPacking} layout when {@link TaylorPacking#applies}, else canonical.
     */
    public void prefill(DType dtype, LinearAttentionSpec spec, int batch, int heads, int seq, int valueDim,
            MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment out) {
        if (dtype == DType.F64) {
            reference(spec, batch * heads, seq, valueDim, q, k, v, kv, z, out);
        } else {
            F32FeatureMap phi = F32FeatureMap.of(spec.featureMap(), kernels);
            Form form = choose(spec, seq, valueDim, phi.hasDotKernel());
            float32(spec, TaylorPacking.applies(dtype, spec.featureMap()) ? phi.compact() : phi, form, batch * heads, seq, valueDim, q, k, v, kv,
                    z, out);
        }
    }

    /** Floats past the end of a row that the vector kernels may read (the widest vector, 512 bits, and then some). */
    static final int VECTOR_ROOM = 64;

    /** One token per head: update the state, then read out; the state's layout is as for {@link #prefill}. */
    public void decode(DType dtype, LinearAttentionSpec spec, int batch, int heads, int valueDim, MemorySegment q,
            MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment out) {
        if (dtype == DType.F64) {
            reference(spec, batch * heads, 1, valueDim, q, k, v, kv, z, out);
        } else {
            F32FeatureMap phi = F32FeatureMap.of(spec.featureMap(), kernels);
            decode32(spec, TaylorPacking.applies(dtype, spec.featureMap()) ? phi.compact() : phi, batch * heads, valueDim, q, k, v, kv, z, out);
        }
    }

    /**
     * The float32 decode step, on the state where it lies: {@code z += φ(k)} and {@code S += v⊗φ(k)} are fused
     * with their read-outs, each state element read and written once. {@code phi} is the compact map when the state
     * is packed: only the first {@code phi.outputDim} floats of each state row are touched.
     */
    private void decode32(LinearAttentionSpec spec, F32FeatureMap phi, int rows, int dv, MemorySegment q,
            MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment out) {
        int f = spec.featureDim();
        int d = spec.expandedDim();
        int dw = phi.outputDim;
        double eps = spec.eps();
        pool.forEachInRanges(rows, 2L * d * (dv + 1), bh -> {
            float[] in = Scratch.floats(0, 2 * f + dv);
            // room past dw, so that the state kernel reads the last partial vector of each row whole
            float[] phiQ = Scratch.floats(6, dw + VECTOR_ROOM);
            float[] phiK = Scratch.floats(7, dw + VECTOR_ROOM);
            float[] num = Scratch.floats(9, dv);
            float[] den = Scratch.floats(10, 1);
            Mem.read(q, (long) bh * f, in, 0, f);
            Mem.read(k, (long) bh * f, in, f, f);
            Mem.read(v, (long) bh * dv, in, 2 * f, dv);
            phi.applyQuery(in, 0, 0, 1, phiQ, 0);
            phi.apply(in, f, 0, 1, phiK, 0);
            kernels.updateThenProject(z, (long) bh * d, 1, dw, d, ONE, 0, phiK, 0, phiQ, 0, den, 0);
            double normaliser = (double) den[0] + eps;
            kernels.updateThenProject(kv, (long) bh * dv * d, dv, dw, dw, in, 2 * f, phiK, 0, phiQ, 0, num, 0);
            for (int c = 0; c < dv; c++) {
                num[c] = (float) (num[c] / normaliser);
            }
            Mem.write(num, 0, out, (long) bh * dv, dv);
        });
    }

    /**
     * The form AUTO and the explicit algorithms map to. Per token, the quadratic form pays for {@code seq/2}
     * query-key pairs, the chunked form for {@code chunk/2} pairs plus one read-out of and one update to the
     * {@code dv×d} state; a pair costs a score ({@code f} with a closed-form kernel, else {@code d}) and a
     * weighted value row ({@code dv}), weighted by {@link #PAIR_COST}. With Taylor f = 16, dv = 64 and chunks of 64
     * the switch falls at about 380 tokens, where JMH put it (between 256 and 512 tokens; see
     * {@code docs/performance.md}).
     */
    static Form choose(LinearAttentionSpec spec, int seq, int valueDim, boolean dotKernel) {
        return switch (spec.algorithm()) {
            case QUADRATIC -> Form.QUADRATIC;
            case CHUNKED -> Form.CHUNKED;
            case RECURRENT -> Form.RECURRENT;
            case AUTO -> {
                int f = spec.featureDim();
                int stateDim = spec.featureMap() instanceof Taylor ? TaylorPacking.compactDim(f) : spec.expandedDim();
                double pair = (dotKernel ? f : stateDim) + valueDim;
                double quadratic = seq / 2.0 * pair * PAIR_COST;
                double chunked = Math.min(spec.chunkSize(), seq) / 2.0 * pair + 2.0 * stateDim * valueDim;
                yield quadratic <= chunked ? Form.QUADRATIC : Form.CHUNKED;
            }
        };
    }

    // ---------------------------------------------------------------- float64: the reference, head by head

    private void reference(LinearAttentionSpec spec, int rows, int seq, int dv, MemorySegment q, MemorySegment k,
            MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment out) {
        int f = spec.featureDim();
        int d = spec.expandedDim();
        long work = (long) seq * seq / 2 * d + (long) seq * d * dv;
        pool.forEach(rows, work, bh -> {
            double[] kvHead = Mem.readDoubles(kv, (long) bh * dv * d, dv * d);
            double[] zHead = Mem.readDoubles(z, (long) bh * d, d);
            double[] y = Reference.linearAttention(spec, Mem.readDoubles(q, (long) bh * seq * f, seq * f),
                    Mem.readDoubles(k, (long) bh * seq * f, seq * f), Mem.readDoubles(v, (long) bh * seq * dv, seq * dv),
                    1, 1, seq, dv, kvHead, zHead);
            Mem.write(y, 0, out, (long) bh * seq * dv, seq * dv);
            Mem.write(kvHead, 0, kv, (long) bh * dv * d, dv * d);
            Mem.write(zHead, 0, z, (long) bh * d, d);
        });
    }

    // ---------------------------------------------------------------- float32

    private void float32(LinearAttentionSpec spec, F32FeatureMap phi, Form form, int rows, int seq, int dv,
            MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment out) {
        int f = spec.featureDim();
        int d = spec.expandedDim();
        // phi is the compact map when the state is packed: the first dw floats of each state row (Taylor: 153 of
        // 273) are read, worked on feature-first (transposed) so every step is a plain matrix product, written back
        int dw = phi.outputDim;
        float eps = (float) spec.eps();
        int chunk = Math.min(spec.chunkSize(), seq);
        double pair = (phi.hasDotKernel() ? f : dw) + dv;
        long cost = (long) (seq * (form == Form.QUADRATIC ? seq / 2.0 : chunk / 2.0) * pair) + 2L * seq * dw * dv;
        if (form == Form.CHUNKED && rows < pool.threads() && seq >= 2 * chunk) {
            // fewer heads than threads: the chunks of each head are shared out instead
            for (int bh = 0; bh < rows; bh++) {
                chunkParallel(phi, eps, bh, seq, f, d, dv, chunk, q, k, v, kv, z, out);
            }
            return;
        }
        pool.forEach(rows, cost, bh -> {
            Head h = readHead(phi, eps, bh, seq, f, d, dv, q, k, v, kv, z);
            switch (form) {
                case QUADRATIC -> quadratic(h);
                case CHUNKED -> chunked(h, chunk);
                case RECURRENT -> recurrent(h);
            }
            writeHead(h, bh, d, kv, z, out);
        });
    }

    /**
     * One head's inputs and state read into this thread's scratch arrays: the state's first {@code phi.outputDim}
     * floats of each row (all of it when the state is canonical), turned feature-first.
     */
    private static Head readHead(F32FeatureMap phi, float eps, int bh, int seq, int f, int d, int dv,
            MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z) {
        int dw = phi.outputDim;
        float[] qh = Scratch.floats(0, seq * f);
        float[] kh = Scratch.floats(1, seq * f);
        float[] vh = Scratch.floats(2, seq * dv);
        float[] s = Scratch.floats(3, dv * dw);
        float[] zh = Scratch.floats(4, dw);
        float[] y = Scratch.floats(5, seq * dv);
        float[] kt = Scratch.floats(11, f * seq);
        float[] st = Scratch.floats(12, dw * dv);
        float[] zw = Scratch.floats(13, dw);
        Mem.read(q, (long) bh * seq * f, qh, 0, seq * f);
        Mem.read(k, (long) bh * seq * f, kh, 0, seq * f);
        Mem.read(v, (long) bh * seq * dv, vh, 0, seq * dv);
        // a head's dv rows of dw floats lie back to back at the start of its block (TaylorPacking), or are whole
        // canonical rows (dw = d)
        Mem.read(kv, (long) bh * dv * d, s, 0, dv * dw);
        Mem.read(z, (long) bh * d, zh, 0, dw);
        for (int n = 0; n < seq; n++) {
            for (int i = 0; i < f; i++) {
                kt[i * seq + n] = kh[n * f + i];
            }
        }
        phi.stateIn(s, zh, dv, st, zw);
        return new Head(phi, eps, seq, f, dw, dv, qh, kh, kt, vh, st, zw, y);
    }

    /** The output and the state of a head back to tensor memory, from the thread that {@link #readHead read} it. */
    private static void writeHead(Head h, int bh, int d, MemorySegment kv, MemorySegment z, MemorySegment out) {
        int dw = h.d;
        int dv = h.dv;
        float[] s = Scratch.floats(3, dv * dw);
        float[] zh = Scratch.floats(4, dw);
        h.phi.stateOut(h.st, h.z, dv, s, zh);
        Mem.write(h.y, 0, out, (long) bh * h.seq * dv, h.seq * dv);
        Mem.write(s, 0, kv, (long) bh * dv * d, dv * dw);
        Mem.write(zh, 0, z, (long) bh * d, dw);
    }

    /**
     * The chunked form of one head with its chunks in parallel, in three passes: every chunk's contribution to the
     * state ({@code φ(K_c)ᵀ·V_c}, {@code Σ φ(k)}) in parallel; a running sum over chunks, which leaves each
     * chunk the state before it; then every chunk's outputs in parallel, as {@link #chunked} computes them.
     */
    private void chunkParallel(F32FeatureMap work, float eps, int bh, int seq, int f, int d, int dv, int chunk,
            MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment kv, MemorySegment z, MemorySegment out) {
        Head h = readHead(work, eps, bh, seq, f, d, dv, q, k, v, kv, z);
        int dw = h.d;
        int chunks = (seq + chunk - 1) / chunk;
        int block = dw * dv;
        // per chunk: first its contribution to the state, after the running sum the state before it
        float[] states = new float[chunks * block];
        float[] zs = new float[chunks * dw];
        long cost = (long) chunk * block;
        pool.forEach(chunks, cost, c -> {
            int c0 = c * chunk;
            int len = Math.min(chunk, seq - c0);
            float[] phiKt = Scratch.floats(7, dw * chunk);
            work.applyColumns(h.kt, seq, c0, len, c0, seq, phiKt, 0, len);
            kernels.matmul(phiKt, 0, len, h.v, c0 * dv, dv, states, c * block, dv, dw, len, dv, false);
            float[] ones = ones(len);
            for (int e = 0; e < dw; e++) {
                zs[c * dw + e] = kernels.dot(phiKt, e * len, ones, 0, len);
            }
        });
        float[] contribution = Scratch.floats(14, block);
        for (int c = 0; c < chunks; c++) {
            System.arraycopy(states, c * block, contribution, 0, block);
            System.arraycopy(h.st, 0, states, c * block, block);
            kernels.axpy(1f, contribution, 0, h.st, 0, block);
            System.arraycopy(zs, c * dw, contribution, 0, dw);
            System.arraycopy(h.z, 0, zs, c * dw, dw);
            kernels.axpy(1f, contribution, 0, h.z, 0, dw);
        }
        pool.forEach(chunks, cost * 2, c -> {
            int c0 = c * chunk;
            int len = Math.min(chunk, seq - c0);
            float[] phiKt = null;
            if (!work.hasDotKernel()) {
                phiKt = Scratch.floats(7, dw * chunk);
                work.applyColumns(h.kt, seq, c0, len, c0, seq, phiKt, 0, len);
            }
            chunkOutputs(h, chunk, c0, len, phiKt, states, c * block, zs, c * dw);
        });
        writeHead(h, bh, d, kv, z, out);
    }

    /**
     * One head's inputs ({@code q, k [seq×f]}, {@code kt = kᵀ [f×seq]}, {@code v [seq×dv]}), state in the working
     * layout of {@code phi} ({@code st [d×dv]}, {@code z [d]}) and output {@code y [seq×dv]}, as heap arrays.
     */
    private record Head(F32FeatureMap phi, float eps, int seq, int f, int d, int dv, float[] q, float[] k, float[] kt,
            float[] v, float[] st, float[] z, float[] y) {}

    /**
     * The masked quadratic form, in blocks of query rows: {@code y = φ(Q)·S + mask(φ(Q)φ(K)ᵀ)·V}, normalised
     * row by row; then the state absorbs all tokens. Scores come from {@code q·k} directly when the map has a
     * closed-form kernel (Taylor: {@code 1 + s + s²/2}), which is {@code D/f} times cheaper.
     */
    private void quadratic(Head h) {
        int seq = h.seq;
        int f = h.f;
        int d = h.d;
        int dv = h.dv;
        F32FeatureMap phi = h.phi;
        boolean carried = !allZero(h.st, d * dv) || !allZero(h.z, d);
        boolean dotKernel = phi.hasDotKernel();
        float[] phiKt = null;
        if (!dotKernel) {
            phiKt = Scratch.floats(7, d * seq);
            phi.applyColumns(h.kt, seq, 0, seq, 0, seq, phiKt, 0, seq);
        }
        float[] phiQ = Scratch.floats(6, QUERY_BLOCK * d);
        float[] scores = Scratch.floats(8, QUERY_BLOCK * seq);
        float[] den = Scratch.floats(10, QUERY_BLOCK);
        for (int n0 = 0; n0 < seq; n0 += QUERY_BLOCK) {
            int nb = Math.min(QUERY_BLOCK, seq - n0);
            int n1 = n0 + nb;
            if (carried || !dotKernel) {
                phi.applyQueryRows(h.q, n0 * f, nb, n0, seq, phiQ, 0);
            }
            if (carried) {
                // what earlier calls left in the state
                kernels.matmul(phiQ, 0, d, h.st, 0, dv, h.y, n0 * dv, dv, nb, d, dv, false);
                kernels.matmulTransposed(phiQ, 0, d, h.z, 0, d, den, 0, 1, nb, d, 1, false);
            } else {
                java.util.Arrays.fill(h.y, n0 * dv, n1 * dv, 0f);
                java.util.Arrays.fill(den, 0, nb, 0f);
            }
            if (dotKernel) {
                kernels.matmul(h.q, n0 * f, f, h.kt, 0, seq, scores, 0, n1, nb, f, n1, false);
            } else {
                kernels.matmul(phiQ, 0, d, phiKt, 0, seq, scores, 0, n1, nb, d, n1, false);
            }
            finishBlock(h, scores, n1, nb, n0, 0, den, n0);
        }
        if (dotKernel) {
            float[] block = Scratch.floats(7, d * QUERY_BLOCK);
            for (int m0 = 0; m0 < seq; m0 += QUERY_BLOCK) {
                int len = Math.min(QUERY_BLOCK, seq - m0);
                phi.applyColumns(h.kt, seq, m0, len, m0, seq, block, 0, len);
                absorb(h, block, 0, len, m0, len);
            }
        } else {
            absorb(h, phiKt, 0, seq, 0, seq);
        }
    }

    /**
     * The chunked form: per chunk, the read-out of the state carried from earlier chunks, plus the masked
     * quadratic form inside the chunk; then the chunk's keys and values enter the state. Every step is a plain
     * matrix product: the state is kept feature-first and the chunk's key features are built as columns.
     */
    private void chunked(Head h, int chunk) {
        float[] phiKt = Scratch.floats(7, h.d * chunk);
        for (int c0 = 0; c0 < h.seq; c0 += chunk) {
            int len = Math.min(chunk, h.seq - c0);
            h.phi.applyColumns(h.kt, h.seq, c0, len, c0, h.seq, phiKt, 0, len);
            chunkOutputs(h, chunk, c0, len, phiKt, h.st, 0, h.z, 0);
            absorb(h, phiKt, 0, len, c0, len);
        }
    }

    /**
     * The outputs of the chunk of {@code len} tokens from {@code c0}: the read-out of the state before it
     * ({@code states [d×dv]} and {@code zs [d]} from the given offsets) plus the masked quadratic form inside the
     * chunk, normalised.
     *
     * @param phiKt the chunk's key features as columns ({@code d × len}); only read when the map has no closed-form
     *     kernel, and may then be null
     */
    private void chunkOutputs(Head h, int chunk, int c0, int len, float[] phiKt, float[] states, int stateOffset,
            float[] zs, int zOffset) {
        int f = h.f;
        int d = h.d;
        int dv = h.dv;
        float[] phiQ = Scratch.floats(6, chunk * d);
        float[] scores = Scratch.floats(8, chunk * chunk);
        float[] den = Scratch.floats(10, chunk);
        h.phi.applyQueryRows(h.q, c0 * f, len, c0, h.seq, phiQ, 0);
        kernels.matmul(phiQ, 0, d, states, stateOffset, dv, h.y, c0 * dv, dv, len, d, dv, false);
        kernels.matmulTransposed(phiQ, 0, d, zs, zOffset, d, den, 0, 1, len, d, 1, false);
        if (h.phi.hasDotKernel()) {
            kernels.matmul(h.q, c0 * f, f, h.kt, c0, h.seq, scores, 0, len, len, f, len, false);
        } else {
            kernels.matmul(phiQ, 0, d, phiKt, 0, len, scores, 0, len, len, d, len, false);
        }
        finishBlock(h, scores, len, len, 0, c0, den, c0);
    }

    /** The decode step, token by token: {@code S += φ(k)⊗v}, {@code z += φ(k)}, then read out. */
    private void recurrent(Head h) {
        int d = h.d;
        int dv = h.dv;
        float[] phiQ = Scratch.floats(6, d);
        float[] phiK = Scratch.floats(7, d);
        float[] num = Scratch.floats(9, dv);
        for (int n = 0; n < h.seq; n++) {
            h.phi.applyQuery(h.q, n * h.f, n, h.seq, phiQ, 0);
            h.phi.apply(h.k, n * h.f, n, h.seq, phiK, 0);
            kernels.axpy(1f, phiK, 0, h.z, 0, d);
            double den = (double) kernels.dot(phiQ, 0, h.z, 0, d) + h.eps;
            java.util.Arrays.fill(num, 0, dv, 0f);
            for (int e = 0; e < d; e++) {
                // the state row is updated, then read while it is still in L1
                kernels.axpy(phiK[e], h.v, n * dv, h.st, e * dv, dv);
                kernels.axpy(phiQ[e], h.st, e * dv, num, 0, dv);
            }
            for (int c = 0; c < dv; c++) {
                h.y[n * dv + c] = (float) (num[c] / den);
            }
        }
    }

    /**
     * Finishes a block of query rows whose output rows hold the state's read-out: turns raw scores into
     * {@code φ(q)·φ(k)} where the map has a closed-form kernel, masks the keys after each query (causal, the
     * diagonal included), adds the weighted values and divides by the normaliser. The normaliser's terms are
     * summed in double: there can be thousands of positive terms.
     *
     * @param scores {@code rows × keys} query-key products; key {@code m} is token {@code firstKey + m}
     * @param before keys row 0 sees before its own diagonal entry
     * @param carriedDen {@code φ(q_n)·z} of the state before the keys, per row
     * @param row0 token of the first query row
     */
    private void finishBlock(Head h, float[] scores, int keys, int rows, int before, int firstKey, float[] carriedDen,
            int row0) {
        double[] den = new double[rows];
        for (int i = 0; i < rows; i++) {
            int o = i * keys;
            int seen = before + i + 1;
            if (h.phi.hasDotKernel()) {
                h.phi.kernelFromDots(scores, o, seen);
            }
            java.util.Arrays.fill(scores, o + seen, o + keys, 0f);
            double d = carriedDen[i];
            for (int m = 0; m < seen; m++) {
                d += scores[o + m];
            }
            den[i] = d + h.eps;
        }
        int dv = h.dv;
        kernels.matmul(scores, 0, keys, h.v, firstKey * dv, dv, h.y, row0 * dv, dv, rows, keys, dv, true);
        for (int i = 0; i < rows; i++) {
            int yo = (row0 + i) * dv;
            for (int c = 0; c < dv; c++) {
                h.y[yo + c] = (float) (h.y[yo + c] / den[i]);
            }
        }
    }

    /**
     * The state absorbs tokens {@code m0..m0+len} whose features are the columns of {@code phiKt}
     * ({@code d × len}, leading dimension {@code ld}): {@code S += φ(K)ᵀ·V}, {@code z += Σ φ(k)}.
     */
    private void absorb(Head h, float[] phiKt, int offset, int ld, int m0, int len) {
        int d = h.d;
        int dv = h.dv;
        kernels.matmul(phiKt, offset, ld, h.v, m0 * dv, dv, h.st, 0, dv, d, len, dv, true);
        float[] ones = ones(len);
        for (int e = 0; e < d; e++) {
            h.z[e] += kernels.dot(phiKt, offset + e * ld, ones, 0, len);
        }
    }

    private static float[] ones(int n) {
        float[] ones = Scratch.floats(19, n);
        if (ones[0] != 1f || ones[n - 1] != 1f) {
            java.util.Arrays.fill(ones, 0, n, 1f);
        }
        return ones;
    }

    private static boolean allZero(float[] a, int n) {
        for (int i = 0; i < n; i++) {
            if (a[i] != 0f) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void prefill(LinearAttentionFamily.Call<CpuBuffer> c) {
        prefill(c.dtype(), c.spec(), c.batch(), c.heads(), c.seq(), c.valueDim(), c.q().segment(), c.k().segment(),
                c.v().segment(), c.kv().state(c.dtype(), c.spec().featureMap(), c.valueDim()),
                c.z().state(c.dtype(), c.spec().featureMap(), 1), c.out().segment());
    }

    @Override
    public void decode(LinearAttentionFamily.Call<CpuBuffer> c) {
        decode(c.dtype(), c.spec(), c.batch(), c.heads(), c.valueDim(), c.q().segment(), c.k().segment(),
                c.v().segment(), c.kv().state(c.dtype(), c.spec().featureMap(), c.valueDim()),
                c.z().state(c.dtype(), c.spec().featureMap(), 1), c.out().segment());
    }
}
