package dev.based4j.conformance.testing;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.Capabilities;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.Tensor;

/** Backends that break one rule each, to prove the suite notices. */
public final class Mutants {
    private Mutants() {}

    /** Linear-attention prefill leaves the last output element as it was. */
    public static final class LeavesLastOutputUnwritten extends ReferenceBackend {
        @Override
        protected void computeLinearAttentionPrefill(LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v,
                LinearAttentionState state, Tensor out) {
            double[] before = get(out);
            super.computeLinearAttentionPrefill(spec, q, k, v, state, out);
            double[] after = get(out);
            after[after.length - 1] = before[before.length - 1];
            put(out, after);
        }
    }

    /** SiLU also overwrites its input with the result. */
    public static final class ChangesItsInput extends ReferenceBackend {
        @Override
        protected void computeSilu(Tensor x, Tensor out) {
            super.computeSilu(x, out);
            put(x, get(out));
        }
    }

    /** GELU in the tanh approximation instead of the erf form (off by up to about 5e-4). */
    public static final class ApproximateGelu extends ReferenceBackend {
        @Override
        protected void computeGelu(Tensor x, Tensor out) {
            double[] v = get(x);
            for (int i = 0; i < v.length; i++) {
                double a = v[i];
                v[i] = 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a * a * a)));
            }
            put(out, v);
        }
    }

    /** Declares the convolution but refuses it. */
    public static final class RefusesWhatItDeclares extends ReferenceBackend {
        @Override
        protected void computeCausalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
            throw new UnsupportedOperationException("causal convolution is not implemented yet");
        }
    }

    /** Linear-attention decode ignores the carried state. */
    public static final class ForgetsTheStateWhenDecoding extends ReferenceBackend {
        @Override
        protected void computeLinearAttentionDecode(LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v,
                LinearAttentionState state, Tensor out) {
            put(state.kv(), new double[Math.toIntExact(state.kv().shape().elementCount())]);
            put(state.z(), new double[Math.toIntExact(state.z().shape().elementCount())]);
            super.computeLinearAttentionDecode(spec, q, k, v, state, out);
        }
    }

    /** Declares only {@code capabilities}. */
    public static ReferenceBackend declaring(Capabilities capabilities) {
        return new ReferenceBackend(capabilities);
    }
}
