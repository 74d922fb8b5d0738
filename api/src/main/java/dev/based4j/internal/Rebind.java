package dev.based4j.internal;

import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.spi.ConvFamily;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.spi.SlidingWindowFamily;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.Tensor;

/**
 * A recorded call made current for a replay: the same inputs, outputs and dimensions, with the state's memory as it
 * is now (a failed kernel may have put a backup in its place) and the state's position as it is now (the step's
 * tokens are later than the recorded ones).
 */
final class Rebind {
    private Rebind() {}

    @SuppressWarnings("unchecked")
    private static <B> B buf(Tensor t) {
        return ((DeviceTensor<B>) t).buffer();
    }

    static <B> LinearAttentionFamily.Call<B> linear(LinearAttentionFamily.Call<B> c, LinearAttentionState s) {
        return new LinearAttentionFamily.Call<>(c.spec(), c.dtype(), c.batch(), c.heads(), c.seq(), c.valueDim(),
                c.q(), c.k(), c.v(), buf(s.kv()), buf(s.z()), c.out());
    }

    static <B> SlidingWindowFamily.Call<B> window(SlidingWindowFamily.Call<B> c, WindowState s) {
        return new SlidingWindowFamily.Call<>(c.spec(), c.dtype(), c.batch(), c.heads(), c.seq(), c.keyDim(),
                c.valueDim(), s.position(), c.capacity(), c.q(), c.k(), c.v(), buf(s.keys()), buf(s.values()), c.out());
    }

    static <B> BasedAttentionFamily.Call<B> based(BasedAttentionFamily.Call<B> c, BasedAttentionState s) {
        return new BasedAttentionFamily.Call<>(c.spec(), c.dtype(), c.batch(), c.heads(), c.seq(), c.valueDim(),
                s.position(), c.q(), c.k(), c.v(), buf(s.far().kv()), buf(s.far().z()), buf(s.near().keys()),
                buf(s.near().values()), c.out());
    }

    static <B> ConvFamily.Call<B> conv(ConvFamily.Call<B> c, ConvState s) {
        return new ConvFamily.Call<>(c.dtype(), c.batch(), c.seq(), c.channels(), c.kernelSize(), c.x(), c.weight(),
                buf(s.window()), c.out());
    }

    static <B> PlumbingFamily.RotaryCall<B> rotary(PlumbingFamily.RotaryCall<B> c, long delta) {
        return new PlumbingFamily.RotaryCall<>(c.dtype(), c.rows(), c.seq(), c.dim(), c.startPosition() + delta,
                c.rotaryDim(), c.base(), c.x(), c.out());
    }
}
