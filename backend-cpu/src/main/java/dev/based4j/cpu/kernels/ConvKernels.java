package dev.based4j.cpu.kernels;

import dev.based4j.spi.ConvFamily;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The short causal depthwise convolution of BaseConv ({@code based-math.md} d):
 * {@code out[b,t,c] = Σ_j w[c,j]·u[b,t-K+1+j,c]}, the inputs before the call coming from the state
 * {@code window [batch, channels, K]} (the last K inputs, oldest first), which then holds the last K inputs
 * including this call's. Float32 work is split over (batch, blocks of tokens); channels are the inner,
 * contiguous dimension.
 */
public final class ConvKernels implements ConvFamily<CpuBuffer> {
    /** Tokens per task of the float32 path. */
    private static final int TIME_BLOCK = 256;

    private final CpuPool pool;
    private final F32Kernels kernels;

    /** @param kernels the float32 inner loops */
    public ConvKernels(CpuPool pool, F32Kernels kernels) {
        this.pool = pool;
        this.kernels = kernels;
    }

    /** Convolves {@code x [batch, seq, channels]} with {@code weight [channels, kernel]} into {@code out}. */
    public void apply(DType dtype, int batch, int seq, int channels, int kernel, MemorySegment x,
            MemorySegment weight, MemorySegment window, MemorySegment out) {
        if (dtype == DType.F64) {
            double[] w = Mem.readAllDoubles(weight);
            pool.forEach(batch, (long) seq * channels * kernel, b -> {
                double[] state = Mem.readDoubles(window, (long) b * channels * kernel, channels * kernel);
                double[] y = Reference.causalConv(Mem.readDoubles(x, (long) b * seq * channels, seq * channels), 1,
                        seq, channels, w, kernel, state);
                Mem.write(y, 0, out, (long) b * seq * channels, seq * channels);
                Mem.write(state, 0, window, (long) b * channels * kernel, channels * kernel);
            });
            return;
        }
        // taps transposed to [K, channels], so each tap is a contiguous row matching a token's channels
        float[] w = Mem.readAllFloats(weight);
        float[] taps = new float[kernel * channels];
        for (int c = 0; c < channels; c++) {
            for (int j = 0; j < kernel; j++) {
                taps[j * channels + c] = w[c * kernel + j];
            }
        }
        float[][] states = new float[batch][];
        for (int b = 0; b < batch; b++) {
            states[b] = Mem.readFloats(window, (long) b * channels * kernel, channels * kernel);
        }
        int blocks = (seq + TIME_BLOCK - 1) / TIME_BLOCK;
        pool.forEach(batch * blocks, (long) Math.min(seq, TIME_BLOCK) * channels * kernel, task -> {
            int b = task / blocks;
            int t0 = (task % blocks) * TIME_BLOCK;
            int len = Math.min(TIME_BLOCK, seq - t0);
            convolve(b, t0, len, seq, channels, kernel, x, taps, states[b], out);
        });
        for (int b = 0; b < batch; b++) {
            float[] state = states[b];
            float[] next = new float[channels * kernel];
            // the window after the call: the last K of (old window ++ this call's inputs)
            for (int j = 0; j < kernel; j++) {
                int t = seq - kernel + j; // token index of slot j; negative = from the old window
                if (t >= 0) {
                    float[] row = Mem.readFloats(x, ((long) b * seq + t) * channels, channels);
                    for (int c = 0; c < channels; c++) {
                        next[c * kernel + j] = row[c];
                    }
                } else {
                    for (int c = 0; c < channels; c++) {
                        next[c * kernel + j] = state[c * kernel + kernel + t];
                    }
                }
            }
            Mem.write(next, 0, window, (long) b * channels * kernel, channels * kernel);
        }
    }

    /** Tokens {@code t0..t0+len} of batch {@code b}: the K-1 inputs before them, then theirs, in {@code ext}. */
    private void convolve(int b, int t0, int len, int seq, int channels, int kernel, MemorySegment x, float[] taps,
            float[] state, MemorySegment out) {
        int before = kernel - 1;
        float[] ext = Scratch.floats(0, (before + len) * channels);
        float[] y = Scratch.floats(1, len * channels);
        for (int r = 0; r < before; r++) {
            int t = t0 - before + r;
            if (t >= 0) {
                Mem.read(x, ((long) b * seq + t) * channels, ext, r * channels, channels);
            } else {
                // token t < 0 is slot K + t of the window
                for (int c = 0; c < channels; c++) {
                    ext[r * channels + c] = state[c * kernel + kernel + t];
                }
            }
        }
        Mem.read(x, ((long) b * seq + t0) * channels, ext, before * channels, len * channels);
        java.util.Arrays.fill(y, 0, len * channels, 0f);
        for (int t = 0; t < len; t++) {
            for (int j = 0; j < kernel; j++) {
                kernels.multiplyAdd(taps, j * channels, ext, (t + j) * channels, y, t * channels, channels);
            }
        }
        Mem.write(y, 0, out, ((long) b * seq + t0) * channels, len * channels);
    }

    @Override
    public void causalConv(ConvFamily.Call<CpuBuffer> c) {
        apply(c.dtype(), c.batch(), c.seq(), c.channels(), c.kernelSize(), c.x().segment(), c.weight().segment(),
                c.window().segment(), c.out().segment());
    }
}
