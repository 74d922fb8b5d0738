package dev.based4j.onnx.kernels;

import dev.based4j.onnx.graph.Attribute;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.spi.ConvFamily;
import java.util.List;

/**
 * The causal depthwise convolution of BaseConv ({@code based-math.md} d) with its shift-register state
 * {@code [B,C,K]} (the last {@code K} inputs, oldest first). The state is prepended to the inputs, so output
 * {@code t} is {@code Σ_j w[c,j]·ext[t+1+j]} and the new state is the last {@code K} ext entries: the same as
 * shifting one token at a time. Written as {@code K} shifted slices (ONNX Runtime's CPU Conv has no float64
 * kernel, and K is 3 in every released model); above {@value #UNROLLED_TAPS} taps as one gather of every token's
 * window and a sum over the taps, so that the graph does not grow with the kernel.
 */
public final class ConvKernels implements ConvFamily<OnnxBuffer> {
    /** Most taps written as shifted slices; longer kernels gather windows (a graph of fixed size). */
    public static final int UNROLLED_TAPS = 16;

    private final SessionCache sessions;

    /** @param sessions the backend's compiled graphs */
    public ConvKernels(SessionCache sessions) {
        this.sessions = sessions;
    }

    @Override
    public void causalConv(ConvFamily.Call<OnnxBuffer> c) {
        int kernel = c.kernelSize();
        long b = c.batch();
        long s = c.seq();
        long ch = c.channels();
        ScratchBudget.check("causal convolution", c.dtype(), kernel > UNROLLED_TAPS
                ? new ScratchBudget.Need("token windows", b, s, kernel, ch)
                : new ScratchBudget.Need("inputs after the window", b, kernel + s, ch));
        KernelRun.run(sessions, new SessionCache.Key("causal_conv", kernel, c.dtype()),
                () -> standalone(kernel, ElementType.of(c.dtype())),
                r -> r.in("x", c.x(), b, s, ch).in("weight", c.weight(), ch, kernel).in("window", c.window(), b, ch, kernel)
                        .out("y", c.out(), b, s, ch).state("window_out", c.window(), b, ch, kernel));
    }

    /** The output and the new state. */
    public record Outputs(Value y, Value window) {}

    /**
     * A standalone graph: inputs {@code x [B,S,C]}, {@code weight [C,K]}, {@code window [B,C,K]}; outputs
     * {@code y [B,S,C]}, {@code window_out}.
     */
    public static GraphBuilder standalone(int kernel, ElementType type) {
        GraphBuilder g = new GraphBuilder("causal_conv[kernel " + kernel + ", " + FeatureMapKernels.label(type) + "]", type);
        Value x = g.input("x", "batch", "seq", "channels");
        Value w = g.input("weight", "channels", kernel);
        Value window = g.input("window", "batch", "channels", kernel);
        Outputs o = apply(g, kernel, x, w, window);
        g.output(o.y(), "y", "batch", "seq", "channels");
        g.output(o.window(), "window_out", "batch", "channels", kernel);
        return g;
    }

    /** The convolution of {@code x [B,S,C]} with {@code weight [C,K]} continuing from {@code window [B,C,K]}. */
    public static Outputs apply(GraphBuilder g, int kernel, Value x, Value weight, Value window) {
        return g.scoped("causal_conv", () -> {
            Value seq = g.shape(x, 1, 2);
            Value ext = g.concat(1, g.transpose(window, 0, 2, 1), x); // [B, K+S, C]
            Value last = g.slice(ext, seq, g.add(seq, g.longs(kernel)), g.longs(1));
            if (kernel > UNROLLED_TAPS) {
                // token t reads ext[t+1 .. t+K]: gather those windows [B,S,K,C] and sum them weighted by the taps
                Value t = g.unsqueeze(g.range(g.scalarLong(0), g.squeeze(seq, 0), g.scalarLong(1)), 1); // [S,1]
                Value j = g.range(g.scalarLong(1), g.scalarLong(kernel + 1L), g.scalarLong(1)); // [K]
                Value windows = g.op("Gather", List.of(Attribute.i("axis", 1)), ext, g.add(t, j));
                Value taps = g.transpose(weight, 1, 0); // [K, C]
                return new Outputs(g.reduceSum(g.mul(windows, taps), false, 2), g.transpose(last, 0, 2, 1));
            }
            Value y = null;
            for (int j = 0; j < kernel; j++) {
                Value tap = g.op("Gather", List.of(Attribute.i("axis", 1)), weight, g.scalarLong(j));
                Value shifted = g.slice(ext, g.longs(1 + j), g.add(seq, g.longs(1 + j)), g.longs(1));
                Value term = g.mul(shifted, tap);
                y = y == null ? term : g.add(y, term);
            }
            return new Outputs(y, g.transpose(last, 0, 2, 1));
        });
    }
}
