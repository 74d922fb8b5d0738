package dev.based4j.cuda.kernels;

import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.cuda.device.Scratch;
import dev.based4j.spi.ConvFamily;
import dev.based4j.tensor.DType;

/**
 * The causal depthwise convolution of BaseConv ({@code conv.cu}): one thread per output, then the window update;
 * when {@code out} is {@code x}, one thread per channel walks the sequence instead, so no input is overwritten
 * before it is read.
 */
public final class ConvKernels extends KernelFamily implements ConvFamily<CudaBuffer> {
    private static final int BLOCK = 256;
    private static final int INPLACE_MAX_KERNEL = 64;

    /** @param context the device */
    public ConvKernels(CudaContext context, Scratch scratch) {
        super(context, scratch, "conv");
    }

    /** {@code out[b,t,c] = Σ_j weight[c,j]·u[b,t-K+1+j,c]} with earlier inputs from the window; updates it. */
    @Override
    public void causalConv(ConvFamily.Call<CudaBuffer> call) {
        context.run(() -> causalConvLocked(call));
    }

    private void causalConvLocked(ConvFamily.Call<CudaBuffer> call) {
        DType dtype = call.dtype();
        int b = call.batch();
        int seq = call.seq();
        int c = call.channels();
        int kernel = call.kernelSize();
        int32("batch·channels", (long) b * c);
        long window = ptr(call.window());
        long in = ptr(call.x());
        if (call.out().sameMemory(call.x())) {
            if (kernel <= INPLACE_MAX_KERNEL) {
                context.launch(kernel("causal_conv_inplace", dtype), gridFor((long) b * c, BLOCK), 1, 1, BLOCK, 0,
                        a -> a.ptr(in).ptr(ptr(call.weight())).ptr(window).i32(b).i32(seq).i32(c).i32(kernel));
                return;
            }
            long bytes = (long) b * seq * c * dtype.byteSize();
            long copy = scratch.get("conv_input", bytes);
            context.driver().memcpyDtoDAsync(copy, in, bytes, context.stream());
            run(copy, ptr(call.weight()), window, ptr(call.out()), b, seq, c, kernel, dtype);
            return;
        }
        run(in, ptr(call.weight()), window, ptr(call.out()), b, seq, c, kernel, dtype);
    }

    private void run(long x, long weight, long window, long out, int b, int seq, int c, int kernel, DType dtype) {
        long total = (long) b * seq * c;
        context.launch(kernel("causal_conv", dtype), gridFor(total, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(x).ptr(weight).ptr(window).ptr(out).i32(b).i32(seq).i32(c).i32(kernel));
        context.launch(kernel("conv_window_update", dtype), gridFor((long) b * c, BLOCK), 1, 1, BLOCK, 0,
                a -> a.ptr(x).ptr(window).i32(b).i32(seq).i32(c).i32(kernel));
    }
}
