package dev.based4j.conformance.testing;

import dev.based4j.spi.ConvFamily;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.tensor.HostTensor;

/** Engines that break one rule each, to prove the suite notices; open them with {@link ReferenceBackend#backend()}. */
public final class Mutants {
    private Mutants() {}

    /** Linear-attention prefill leaves the last output element as it was. */
    public static final class LeavesLastOutputUnwritten extends ReferenceBackend {
        @Override
        public void prefill(LinearAttentionFamily.Call<HostTensor> c) {
            double[] before = get(c.out());
            super.prefill(c);
            double[] after = get(c.out());
            after[after.length - 1] = before[before.length - 1];
            put(c.out(), after);
        }
    }

    /** SiLU also overwrites its input with the result. */
    public static final class ChangesItsInput extends ReferenceBackend {
        @Override
        public void silu(UnaryCall<HostTensor> c) {
            super.silu(c);
            put(c.x(), get(c.out()));
        }
    }

    /** GELU in the tanh approximation instead of the erf form (off by up to about 5e-4). */
    public static final class ApproximateGelu extends ReferenceBackend {
        @Override
        public void gelu(UnaryCall<HostTensor> c) {
            double[] v = get(c.x());
            for (int i = 0; i < v.length; i++) {
                double a = v[i];
                v[i] = 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a * a * a)));
            }
            put(c.out(), v);
        }
    }

    /** Supplies the convolution but refuses it. */
    public static final class RefusesWhatItDeclares extends ReferenceBackend {
        @Override
        public void causalConv(ConvFamily.Call<HostTensor> c) {
            throw new UnsupportedOperationException("causal convolution is not implemented yet");
        }
    }

    /** Linear-attention decode ignores the carried state. */
    public static final class ForgetsTheStateWhenDecoding extends ReferenceBackend {
        @Override
        public void decode(LinearAttentionFamily.Call<HostTensor> c) {
            put(c.kv(), new double[Math.toIntExact(c.kv().shape().elementCount())]);
            put(c.z(), new double[Math.toIntExact(c.z().shape().elementCount())]);
            super.decode(c);
        }
    }
}
