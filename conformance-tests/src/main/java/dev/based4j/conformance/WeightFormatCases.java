package dev.based4j.conformance;

import dev.based4j.Operation;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.Weight;
import dev.based4j.tensor.WeightFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Weights stored in a reduced format (bf16, f16, int8 per channel and per group of 32), for every backend that
 * declares the format ({@link dev.based4j.Capabilities#weightTypes()}; skipped with the reason otherwise). Each
 * result is compared twice: with the float64 reference on the weights as stored (their exact values, so the
 * tolerance is the compute type's: the kernel must read the format exactly), and with the float64 reference on the
 * float weights (the format's own tolerance, {@link Tolerances#ofWeights}: what the format costs).
 */
final class WeightFormatCases {
    /** The formats checked: each reduced type, and int8 with one scale per group of 32 inputs. */
    static final List<WeightFormat> FORMATS = List.of(WeightFormat.BF16, WeightFormat.F16, WeightFormat.INT8,
            WeightFormat.int8(32));

    private WeightFormatCases() {}

    /** {@code linear} and {@code embedding} with stored weights (family {@link KernelFamily#PLUMBING}). */
    static List<ConformanceCase> plumbing() {
        CaseList list = new CaseList(KernelFamily.PLUMBING, "plumbing-formats", 6500);
        for (WeightFormat f : FORMATS) {
            // one row reads the weight where it lies (decode), forty rows widen panels of it (prefill)
            linear(list, f, Shape.of(1, 1, 96), 80, true);
            linear(list, f, Shape.of(2, 20, 64), 48, false);
            embedding(list, f);
        }
        return list.cases();
    }

    /** The small stack of the layer cases with stored weights (family {@link KernelFamily#LAYERS}). */
    static List<ConformanceCase> layers() {
        CaseList list = new CaseList(KernelFamily.LAYERS, "layers-formats", 7500);
        for (WeightFormat f : FORMATS) {
            stack(list, f);
        }
        return list.cases();
    }

    private static Requirement.Factory needs(WeightFormat f) {
        return t -> Requirement.of(t, Operation.PLUMBING).withWeights(f.type());
    }

    private static void linear(CaseList list, WeightFormat f, Shape x, int outDim, boolean bias) {
        int in = x.dim(-1);
        int rows = Math.toIntExact(x.elementCount() / in);
        list.both("linear with " + f.label() + " weights matches the float64 reference on the stored weights, and"
                + " on the float weights within the format's tolerance", "linear",
                "x " + x + ", weight [" + outDim + ", " + in + "] as " + f.label() + (bias ? ", bias" : ""), needs(f),
                false, (s, seed) -> {
                    Inputs gen = new Inputs(seed);
                    double[] xs = gen.gaussian(rows * in, 1);
                    double[] w = gen.gaussian(outDim * in, 1.0 / Math.sqrt(in));
                    double[] b = bias ? gen.gaussian(outDim, 1) : null;
                    HostWeight stored = HostWeight.convert("weight", HostTensor.of(w, Shape.of(outDim, in)), f);
                    Weight weight = s.own(stored.upload(s.backend(), s.dtype()));
                    Tensor out = s.poisoned(x.withLast(outDim));
                    s.backend().linear(s.input("x", xs, x), weight, bias ? s.input("bias", b, Shape.of(outDim)) : null,
                            out);
                    double[] y = s.download(out);
                    s.compare("y (stored weights)", y, Reference.linear(xs, rows, in, stored.dequantized(), outDim, b),
                            Tolerances.of(s.dtype(), Tolerances.Kind.SINGLE));
                    s.compare("y (float weights)", y, Reference.linear(xs, rows, in, w, outDim, b),
                            Tolerances.ofWeights(f, Tolerances.Kind.SINGLE));
                });
    }

    private static void embedding(CaseList list, WeightFormat f) {
        int vocab = 37;
        int d = 64;
        list.both("embedding of a " + f.label() + " table gathers the stored rows, within the format's tolerance of"
                + " the float rows", "embedding", "table [" + vocab + ", " + d + "] as " + f.label() + ", ids [2, 3]",
                needs(f), false, (s, seed) -> {
                    Inputs gen = new Inputs(seed);
                    double[] table = gen.gaussian(vocab * d, 1);
                    int[] ids = gen.ids(6, vocab);
                    ids[0] = vocab - 1;
                    ids[1] = 0;
                    HostWeight stored = HostWeight.convert("table", HostTensor.of(table, Shape.of(vocab, d)), f);
                    Weight t = s.own(stored.upload(s.backend(), s.dtype()));
                    Tensor out = s.poisoned(Shape.of(2, 3, d));
                    s.backend().embedding(t, ids.clone(), out);
                    double[] y = s.download(out);
                    s.compare("rows (stored table)", y, Reference.embedding(stored.dequantized(), d, ids),
                            Tolerances.of(s.dtype(), Tolerances.Kind.SINGLE));
                    s.compare("rows (float table)", y, Reference.embedding(table, d, ids),
                            Tolerances.ofWeights(f, Tolerances.Kind.SINGLE));
                });
    }

    private static void stack(CaseList list, WeightFormat f) {
        LayerStack.Config c = LayerCases.smallStack();
        int batch = 2;
        int seq = 9;
        int prefill = 5;
        list.both("a small BASED layer stack with " + f.label() + " weights gives the float64 logits of its stored"
                + " weights, and of its float weights within the format's tolerance and with the same greedy tokens",
                "LayerStack.prefill+decode", "ids [" + batch + ", " + seq + "], the stack of the layer-stack cases,"
                        + " projections, MLP, embedding and head as " + f.label() + ", prefill of " + prefill
                        + " then " + (seq - prefill) + " decode steps",
                t -> Requirement.of(t).withModels().withWeights(f.type()), false, (s, seed) -> {
                    Map<String, HostTensor> w = LayerStack.randomWeights(c, seed);
                    int[] ids = new Inputs(seed).ids(batch * seq, c.vocabSize());
                    double[] onFloats = LayerReference.stack(c, w, ids, batch, seq,
                            LayerReference.newStates(c, batch));
                    double[] onStored = LayerReference.stack(c, stored(w, f), ids, batch, seq,
                            LayerReference.newStates(c, batch));
                    LayerStack stack = s.own(LayerStack.load(s.backend(), s.dtype(), f, WeightSource.of(w), c));
                    LayerStack.State state = s.own(stack.newState(batch));
                    int v = c.vocabSize();
                    double[] got = new double[onFloats.length];
                    int[] head = new int[batch * prefill];
                    for (int b = 0; b < batch; b++) {
                        System.arraycopy(ids, b * seq, head, b * prefill, prefill);
                    }
                    Inputs.place(s.download(s.own(stack.prefill(head, batch, prefill, state))), got, batch, seq, v, 0,
                            prefill);
                    for (int t = prefill; t < seq; t++) {
                        int[] step = new int[batch];
                        for (int b = 0; b < batch; b++) {
                            step[b] = ids[b * seq + t];
                        }
                        Inputs.place(s.download(s.own(stack.decode(step, state))), got, batch, seq, v, t, 1);
                    }
                    s.compare("logits (stored weights)", got, onStored, Tolerances.of(s.dtype(), Tolerances.Kind.LOGITS));
                    s.compare("logits (float weights)", got, onFloats, Tolerances.ofWeights(f, Tolerances.Kind.LOGITS));
                    s.expectSameGreedyTokens("logits", got, onFloats, v);
                });
    }

    /**
     * @return {@code weights} with every matrix (rank 2: projections, MLP, embedding, head) replaced by the float64
     *     values it has once stored in {@code format}: what a backend holding the stored weights multiplies by
     */
    static Map<String, HostTensor> stored(Map<String, HostTensor> weights, WeightFormat format) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        weights.forEach((name, t) -> out.put(name, t.shape().rank() != 2 ? t
                : HostTensor.of(HostWeight.convert(name, t, format).dequantized(), t.shape(), DType.F64)));
        return out;
    }
}
