package dev.based4j.opencl.kernels;

import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClMemory;
import dev.based4j.spi.ConvFamily;
import dev.based4j.tensor.DType;

/** BaseConv's causal depthwise convolution with its shift-register state ({@code causal_conv.cl}). */
public final class ConvKernels implements ConvFamily<ClBuffer> {
    private final ClContext cl;

    /** @param cl the context the kernels run in */
    public ConvKernels(ClContext cl) {
        this.cl = cl;
    }

    static final String FAMILY = "causal_conv";

    /** {@code x [batch, seq, channels]}, {@code weight [channels, taps]}, {@code window [batch, channels, taps]}. */
    public static void causalConv(ClContext cl, ClMemory x, ClMemory weight, ClMemory window, ClMemory out, int batch,
            int seq, int channels, int taps, DType dtype) {
        long n = (long) batch * channels;
        cl.launch(FAMILY, dtype, "causal_conv")
                .mem(x)
                .mem(weight)
                .mem(window)
                .mem(out)
                .i(batch)
                .i(seq)
                .i(channels)
                .i(taps)
                .run(Sizes.roundUp(n, Sizes.ELEMENTWISE_GROUP), Sizes.ELEMENTWISE_GROUP);
    }

    @Override
    public void causalConv(ConvFamily.Call<ClBuffer> c) {
        causalConv(cl, c.x(), c.weight(), c.window(), c.out(), c.batch(), c.seq(), c.channels(), c.kernelSize(),
                c.dtype());
    }
}
