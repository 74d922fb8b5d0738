package dev.based4j.conformance;

import dev.based4j.attention.BaseConvSpec;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.BasedAttentionLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.SwiGluMlp;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The layers of {@code dev.based4j.layer} in float64, composed from {@link Reference} kernels in the order
 * {@code based-math.md} gives (projections, head split, rotary, kernel, head merge, output projection).
 */
final class LayerReference {
    private LayerReference() {}

    /** The float64 state of one mixer: its arrays and the position of the next token. */
    static final class MixerState {
        final double[] a;
        final double[] b;
        final double[] c;
        final double[] d;
        final int capacity;
        long position;

        MixerState(double[] a, double[] b, double[] c, double[] d, int capacity) {
            this.a = a;
            this.b = b;
            this.c = c;
            this.d = d;
            this.capacity = capacity;
        }
    }

    static double[] w(Map<String, HostTensor> weights, String name) {
        HostTensor t = weights.get(name);
        if (t == null) {
            throw new IllegalArgumentException("weights: missing '" + name + "'");
        }
        return t.toDoubleArray();
    }

    /** A zero state: linear (kv, z), window (keys, values), fused (kv, z, keys, values), conv (window). */
    static MixerState newState(MixerConfig config, int batch) {
        return switch (config) {
            case LinearAttentionLayer.Config c -> new MixerState(
                    new double[batch * c.heads() * c.headDim() * c.spec().expandedDim()],
                    new double[batch * c.heads() * c.spec().expandedDim()], null, null, 0);
            case SlidingWindowLayer.Config c -> {
                int cap = c.window().isUnbounded() ? c.maxTokens() : c.window().lookback() + 1;
                yield new MixerState(new double[batch * c.heads() * cap * c.headDim()],
                        new double[batch * c.heads() * cap * c.headDim()], null, null, cap);
            }
            case BasedAttentionLayer.Config c -> {
                int e = c.spec().featureMap().outputDim();
                int cap = c.spec().lookback() + 1;
                yield new MixerState(new double[batch * c.heads() * c.headDim() * e], new double[batch * c.heads() * e],
                        new double[batch * c.heads() * cap * c.featureDim()],
                        new double[batch * c.heads() * cap * c.headDim()], cap);
            }
            case BaseConvLayer.Config c -> new MixerState(
                    new double[batch * c.spec().innerDim() * c.spec().kernelSize()], null, null, null, 0);
        };
    }

    /** One mixer over {@code x [batch, seq, D]}, continuing from and updating {@code st}. */
    static double[] mixer(MixerConfig config, Map<String, HostTensor> w, double[] x, int batch, int seq,
            MixerState st) {
        int rows = batch * seq;
        int d = config.modelDim();
        double[] y = switch (config) {
            case LinearAttentionLayer.Config c -> {
                int h = c.heads();
                int f = c.featureDim();
                int hd = c.headDim();
                double[] q = Reference.splitHeads(Reference.linear(x, rows, d, w(w, "proj_q.weight"), h * f, null),
                        batch, seq, h, f);
                double[] k = Reference.splitHeads(Reference.linear(x, rows, d, w(w, "proj_k.weight"), h * f, null),
                        batch, seq, h, f);
                double[] v = Reference.splitHeads(Reference.linear(x, rows, d, w(w, "proj_v.weight"), h * hd, null),
                        batch, seq, h, hd);
                double[] o = Reference.linearAttention(c.spec(), q, k, v, batch, h, seq, hd, st.a, st.b);
                yield Reference.linear(Reference.mergeHeads(o, batch, h, seq, hd), rows, h * hd,
                        w(w, "out_proj.weight"), d, null);
            }
            case SlidingWindowLayer.Config c -> {
                int h = c.heads();
                int hd = c.headDim();
                double[] qkv = Reference.linear(x, rows, d, w(w, "Wqkv.weight"), 3 * d,
                        c.qkvBias() ? w(w, "Wqkv.bias") : null);
                double[] q = Reference.splitHeads(Reference.slice(qkv, rows, 3 * d, 0, d), batch, seq, h, hd);
                double[] k = Reference.splitHeads(Reference.slice(qkv, rows, 3 * d, d, d), batch, seq, h, hd);
                double[] v = Reference.splitHeads(Reference.slice(qkv, rows, 3 * d, 2 * d, d), batch, seq, h, hd);
                if (c.rotaryDim() > 0) {
                    q = Reference.rotary(q, batch * h, seq, hd, st.position, c.rotaryDim(), c.rotaryBase());
                    k = Reference.rotary(k, batch * h, seq, hd, st.position, c.rotaryDim(), c.rotaryBase());
                }
                double[] o = Reference.slidingWindow(c.window(), q, k, v, batch, h, seq, hd, hd, st.a, st.b,
                        st.capacity, st.position);
                yield Reference.linear(Reference.mergeHeads(o, batch, h, seq, hd), rows, d, w(w, "out_proj.weight"), d,
                        c.outBias() ? w(w, "out_proj.bias") : null);
            }
            case BasedAttentionLayer.Config c -> {
                int h = c.heads();
                int f = c.featureDim();
                int hd = c.headDim();
                double[] q = Reference.splitHeads(Reference.linear(x, rows, d, w(w, "proj_q.weight"), h * f, null),
                        batch, seq, h, f);
                double[] k = Reference.splitHeads(Reference.linear(x, rows, d, w(w, "proj_k.weight"), h * f, null),
                        batch, seq, h, f);
                double[] v = Reference.splitHeads(Reference.linear(x, rows, d, w(w, "proj_v.weight"), h * hd, null),
                        batch, seq, h, hd);
                double[] o = Reference.basedAttention(c.spec(), q, k, v, batch, h, seq, hd, st.a, st.b, st.c, st.d,
                        st.position);
                yield Reference.linear(Reference.mergeHeads(o, batch, h, seq, hd), rows, h * hd,
                        w(w, "out_proj.weight"), d, null);
            }
            case BaseConvLayer.Config c -> {
                BaseConvSpec s = c.spec();
                int inner = s.innerDim();
                double[] u = Reference.linear(x, rows, d, w(w, "in_proj.weight"), 2 * inner, w(w, "in_proj.bias"));
                double[] u1 = Reference.slice(u, rows, 2 * inner, 0, inner);
                double[] u2 = Reference.slice(u, rows, 2 * inner, inner, inner);
                double[] conv = Reference.causalConv(u1, batch, seq, inner, w(w, "conv.conv.weight"), s.kernelSize(),
                        st.a);
                double[] gate = Reference.silu(conv);
                for (int i = 0; i < gate.length; i++) {
                    gate[i] *= u2[i];
                }
                yield Reference.linear(gate, rows, inner, w(w, "out_proj.weight"), d, w(w, "out_proj.bias"));
            }
        };
        st.position += seq;
        return y;
    }

    /** SwiGLU: {@code fc2((a ⊙ silu(g)))} with {@code [a | g] = fc1(x)}. */
    static double[] mlp(SwiGluMlp.Config c, Map<String, HostTensor> w, double[] x, int rows) {
        int h = c.hidden();
        double[] u = Reference.linear(x, rows, c.modelDim(), w(w, "fc1.weight"), 2 * h, null);
        double[] a = Reference.slice(u, rows, 2 * h, 0, h);
        double[] g = Reference.silu(Reference.slice(u, rows, 2 * h, h, h));
        for (int i = 0; i < a.length; i++) {
            a[i] *= g[i];
        }
        return Reference.linear(a, rows, h, w(w, "fc2.weight"), c.modelDim(), null);
    }

    static List<MixerState> newStates(LayerStack.Config config, int batch) {
        List<MixerState> out = new ArrayList<>();
        for (MixerConfig m : config.mixers()) {
            out.add(newState(m, batch));
        }
        return out;
    }

    /** Embedding, pre-norm blocks with residuals, final norm and head: logits {@code [batch, seq, vocab]}. */
    static double[] stack(LayerStack.Config config, Map<String, HostTensor> w, int[] ids, int batch, int seq,
            List<MixerState> states) {
        int d = config.modelDim();
        int rows = batch * seq;
        double[] table = w(w, LayerStack.EMBEDDING);
        double[] r = Reference.embedding(table, d, ids);
        for (int i = 0; i < config.mixers().size(); i++) {
            String p = LayerStack.LAYER_PREFIX + i + ".";
            Map<String, HostTensor> mixerWeights = strip(w, p + "mixer.");
            double[] h1 = Reference.rmsNorm(r, rows, d, w(w, p + "norm1.weight"), config.normEps());
            double[] h = mixer(config.mixers().get(i), mixerWeights, h1, batch, seq, states.get(i));
            add(r, h);
            if (config.mlp() != null) {
                double[] h2 = Reference.rmsNorm(r, rows, d, w(w, p + "norm2.weight"), config.normEps());
                add(r, mlp(config.mlp(), strip(w, p + "mlp."), h2, rows));
            }
        }
        double[] out = Reference.rmsNorm(r, rows, d, w(w, LayerStack.FINAL_NORM), config.normEps());
        double[] head = config.tiedHead() ? table : w(w, LayerStack.HEAD);
        return Reference.linear(out, rows, d, head, config.vocabSize(), null);
    }

    static Map<String, HostTensor> strip(Map<String, HostTensor> w, String prefix) {
        Map<String, HostTensor> out = new java.util.HashMap<>();
        w.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    private static void add(double[] into, double[] x) {
        for (int i = 0; i < into.length; i++) {
            into[i] += x[i];
        }
    }
}
