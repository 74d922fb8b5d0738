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
 * step and the prefill read and write the compact part alone, 56 % of the state, contiguous at the start of each
 * row; the differences (rounding, in states built by updates) are carried untouched. The tensor turns canonical
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

    /** Rearranges every canonical row of {@code s} (float32, rows of {@link #canonicalDim}) into the packed layout. */
    public static void pack(MemorySegment s, int f) {
        int width = canonicalDim(f);
        int head = 1 + f;
        int compact = compactDim(f);
        long rows = s.byteSize() / ((long) width * Float.BYTES);
        float[] in = new float[width];
        float[] out = new float[width];
        for (long r = 0; r < rows; r++) {
            Mem.read(s, r * width, in, 0, width);
            System.arraycopy(in, 0, out, 0, head);
            int p = head;
            int q = compact;
            for (int i = 0; i < f; i++) {
                out[p++] = in[head + i * f + i];
                for (int j = i + 1; j < f; j++) {
                    float a = in[head + i * f + j];
                    float b = in[head + j * f + i];
                    if (a == b) {
                        out[p++] = a;
                        out[q++] = 0f;
                    } else {
                        out[p++] = (a + b) * 0.5f;
                        out[q++] = (a - b) * 0.5f;
                    }
                }
            }
            Mem.write(out, 0, s, r * width, width);
        }
    }

    /** The inverse of {@link #pack}: every packed row back to the canonical layout. */
    public static void unpack(MemorySegment s, int f) {
        int width = canonicalDim(f);
        int head = 1 + f;
        int compact = compactDim(f);
        long rows = s.byteSize() / ((long) width * Float.BYTES);
        float[] in = new float[width];
        float[] out = new float[width];
        for (long r = 0; r < rows; r++) {
            Mem.read(s, r * width, in, 0, width);
            System.arraycopy(in, 0, out, 0, head);
            int p = head;
            int q = compact;
            for (int i = 0; i < f; i++) {
                out[head + i * f + i] = in[p++];
                for (int j = i + 1; j < f; j++) {
                    float mean = in[p++];
                    float half = in[q++];
                    out[head + i * f + j] = mean + half;
                    out[head + j * f + i] = mean - half;
                }
            }
            Mem.write(out, 0, s, r * width, width);
        }
    }
}
