package dev.based4j.cuda.kernels;

import dev.based4j.cuda.CudaContext;
import dev.based4j.cuda.Scratch;
import dev.based4j.state.ConvState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;

/**
 * The causal depthwise convolution of BaseConv ({@code conv.cu}): one thread per output, then the window update;
 * when {@code out} is {@code x}, one thread per channel walks the sequence instead, so no input is overwritten
 * before it is read.
 */
public final class ConvKernels extends KernelFamily {
    private static final int BLOCK = 256;
    private static final int INPLACE_MAX_KERNEL = 64;

    /** @param context the device */
    public ConvKernels(CudaContext context, Scratch scratch) {
        super(context, scratch, "conv");
    }

    /** {@code out[b,t,c] = Σ_j weight[c,j]·u[b,t-K+1+j,c]} with earlier inputs from {@code state}; updates it. */
    public void causalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        DType dtype = x.dtype();
        int b = x.shape().dim(0);
        int seq = x.shape().dim(1);
        int c = x.shape().dim(2);
        int kernel = state.kernelSize();
        long window = ptr(state.window());
        long in = ptr(x);
        if (out == x) {
            if (kernel <= INPLACE_MAX_KERNEL) {
                context.launch(kernel("causal_conv_inplace", dtype), gridFor((long) b * c, BLOCK), 1, 1, BLOCK, 0,
                        a -> a.ptr(in).ptr(ptr(weight)).ptr(window).i32(b).i32(seq).i32(c).i32(kernel));
                return;
            }
            long bytes = x.shape().elementCount() * dtype.byteSize();
            long copy = scratch.get("conv_input", bytes);
            context.driver().memcpyDtoDAsync(copy, in, bytes, context.stream());
            run(copy, ptr(weight), window, ptr(out), b, seq, c, kernel, dtype);
            return;
        }
        run(in, ptr(weight), window, ptr(out), b, seq, c, kernel, dtype);
    }

    private void run(long x, long weight, long window, long out, int b, int seq, int c, int kernel, DType dtype) {
        long total = (long) b * seq * c;
        context.launch(kernel("causal_conv", dtype), gridFor(total, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(x).ptr(weight).ptr(window).ptr(out).i32(b).i32(seq).i32(c).i32(kernel));
        context.launch(kernel("conv_window_update", dtype), gridFor((long) b * c, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(x).ptr(window).i32(b).i32(seq).i32(c).i32(kernel));
    }
}
