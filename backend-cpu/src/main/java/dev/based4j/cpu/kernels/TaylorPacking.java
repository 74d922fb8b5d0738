package dev.based4j.cpu.kernels;

import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Taylor;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The packed layout in which the CPU backend keeps a float32 linear-attention state under the Taylor map between
 * kernel calls. Each row of {@code D = 1 + f + f²} floats (a row of {@code kv}, or {@code z}) is rearranged in
 * place into its compact part, {@code 1 + f + f(f+1)/2} floats (153 for {@code f = 16}: the constant, the linear
 * block, and for each pair {@code i ≤ j} the mean of entries {@code (i,j)} and {@code (j,i)}), followed by half
 * the difference {@code (i,j) − (j,i)} of each pair {@code i < j}.
 *
 * <p>Updates {@code v⊗φ(k)} are symmetric in the pair and read-outs {@code φ(q)·S} see only its sum, so the decode
 * step and the prefill read and write the compact parts alone, 56 % of the state; the differences (rounding, in
 * states built by updates) are carried untouched. Rows are packed in blocks (a head's rows of {@code kv}): a block
 * holds the compact parts of its rows back to back (row stride {@link #compactDim}), then their differences, so a
 * head's compact state is one contiguous run that the hardware prefetches as a stream. The tensor turns canonical
 * again ({@link #unpack}) before anything else reads it: states that are downloaded, saved or handed to another
 * backend are always in the canonical layout.
 */
public final class TaylorPacking {
    private TaylorPacking() {}

    /**
     * @return whether a state of {@code map} in {@code dtype} is kept in this layout between kernel calls: float32
     *     under the Taylor map (linear attention, and the far state of the fused layer)
     */
    public static boolean applies(DType dtype, FeatureMap map) {
        return dtype == DType.F32 && map instanceof Taylor;
    }

    /** @return {@code 1 + f + f(f+1)/2}, the floats of the compact part of a row */
    public static int compactDim(int f) {
        return 1 + f + f * (f + 1) / 2;
    }

    /** @return {@code 1 + f + f²}, the canonical row */
    public static int canonicalDim(int f) {
        return 1 + f + f * f;
    }

    /**
     * Rearranges the canonical rows of {@code s} (float32, rows of {@link #canonicalDim}) into the packed layout, in
     * blocks of {@code blockRows} consecutive rows (one head's {@code dv} rows of {@code kv}, or the one row of
     * {@code z}): a block holds its rows' compact parts one after the other (rows of {@link #compactDim} floats),
     * then their differences, so that the kernels stream a head's compact state as one contiguous run.
     *
     * @throws IllegalArgumentException when the rows do not divide into blocks
     */
    public static void pack(MemorySegment s, int f, int blockRows) {
        int width = canonicalDim(f);
        int head = 1 + f;
        int compact = compactDim(f);
        int rest = width - compact;
        long blocks = blocks(s, width, blockRows);
        float[] in = new float[blockRows * width];
        float[] out = new float[blockRows * width];
        for (long b = 0; b < blocks; b++) {
            long at = b * blockRows * width;
            Mem.read(s, at, in, 0, in.length);
            for (int r = 0; r < blockRows; r++) {
                int o = r * width;
                System.arraycopy(in, o, out, r * compact, head);
                int p = r * compact + head;
                int q = blockRows * compact + r * rest;
                for (int i = 0; i < f; i++) {
                    out[p++] = in[o + head + i * f + i];
                    for (int j = i + 1; j < f; j++) {
                        float x = in[o + head + i * f + j];
                        float y = in[o + head + j * f + i];
                        if (x == y) {
                            out[p++] = x;
                            out[q++] = 0f;
                        } else {
                            out[p++] = (x + y) * 0.5f;
                            out[q++] = (x - y) * 0.5f;
                        }
                    }
                }
            }
            Mem.write(out, 0, s, at, out.length);
        }
    }

    /** The inverse of {@link #pack}: every block back to canonical rows. */
    public static void unpack(MemorySegment s, int f, int blockRows) {
        int width = canonicalDim(f);
        int head = 1 + f;
        int compact = compactDim(f);
        int rest = width - compact;
        long blocks = blocks(s, width, blockRows);
        float[] in = new float[blockRows * width];
        float[] out = new float[blockRows * width];
        for (long b = 0; b < blocks; b++) {
            long at = b * blockRows * width;
            Mem.read(s, at, in, 0, in.length);
            for (int r = 0; r < blockRows; r++) {
                int o = r * width;
                System.arraycopy(in, r * compact, out, o, head);
                int p = r * compact + head;
                int q = blockRows * compact + r * rest;
                for (int i = 0; i < f; i++) {
                    out[o + head + i * f + i] = in[p++];
                    for (int j = i + 1; j < f; j++) {
                        float mean = in[p++];
                        float half = in[q++];
                        out[o + head + i * f + j] = mean + half;
                        out[o + head + j * f + i] = mean - half;
                    }
                }
            }
            Mem.write(out, 0, s, at, out.length);
        }
    }

    private static long blocks(MemorySegment s, int width, int blockRows) {
        long rows = s.byteSize() / ((long) width * Float.BYTES);
        if (blockRows < 1 || rows % blockRows != 0) {
            throw new IllegalArgumentException("blockRows: expected a divisor of the " + rows + " rows, got "
                    + blockRows);
        }
        return rows / blockRows;
    }
}
