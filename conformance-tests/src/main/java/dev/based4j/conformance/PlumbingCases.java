package dev.based4j.conformance;

import static dev.based4j.conformance.Requirement.needs;

import dev.based4j.reference.Reference;
import dev.based4j.Operation;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;

/** The model plumbing ops (linear, norms, activations, element-wise, embedding, rotary, head reshuffles). */
final class PlumbingCases {
    private PlumbingCases() {}

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.PLUMBING, "plumbing", 6000);
        linear(list, Shape.of(2, 5, 12), 7, true);
        linear(list, Shape.of(3, 12), 5, false);
        linear(list, Shape.of(2, 33, 64), 96, false);
        list.both("rmsNorm matches the float64 reference", "rmsNorm", "x [2, 3, 16], eps 1e-5", needs(Operation.PLUMBING),
                false, (s, seed) -> {
                    Inputs gen = new Inputs(seed);
                    double[] x = gen.gaussian(96, 2);
                    double[] w = gen.uniform(16, 0.5, 1.5);
                    Tensor out = s.poisoned(Shape.of(2, 3, 16));
                    s.backend().rmsNorm(s.input("x", x, Shape.of(2, 3, 16)), s.input("weight", w, Shape.of(16)), 1e-5,
                            out);
                    s.compare("y", out, Reference.rmsNorm(x, 6, 16, w, 1e-5), Tolerances.Kind.SINGLE);
                });
        list.both("silu matches the float64 reference", "silu", "x [2, 3, 10]", needs(Operation.PLUMBING), false,
                (s, seed) -> {
                    double[] x = new Inputs(seed).gaussian(60, 4);
                    Tensor out = s.poisoned(Shape.of(2, 3, 10));
                    s.backend().silu(s.input("x", x, Shape.of(2, 3, 10)), out);
                    s.compare("y", out, Reference.silu(x), Tolerances.Kind.SINGLE);
                });
        list.both("gelu (erf form) matches the float64 reference", "gelu", "x [2, 3, 10]", needs(Operation.PLUMBING),
                false, (s, seed) -> {
                    double[] x = new Inputs(seed).gaussian(60, 3);
                    Tensor out = s.poisoned(Shape.of(2, 3, 10));
                    s.backend().gelu(s.input("x", x, Shape.of(2, 3, 10)), out);
                    s.compare("y", out, Reference.gelu(x), Tolerances.Kind.SINGLE);
                });
        list.both("add is element-wise", "add", "a, b [4, 7]", needs(Operation.PLUMBING), false, (s, seed) -> {
            Inputs gen = new Inputs(seed);
            double[] a = gen.gaussian(28, 1);
            double[] b = gen.gaussian(28, 1);
            double[] ref = new double[28];
            for (int i = 0; i < 28; i++) {
                ref[i] = a[i] + b[i];
            }
            Tensor out = s.poisoned(Shape.of(4, 7));
            s.backend().add(s.input("a", a, Shape.of(4, 7)), s.input("b", b, Shape.of(4, 7)), out);
            s.compare("a+b", out, ref, Tolerances.Kind.SINGLE);
        });
        list.both("multiply is element-wise", "multiply", "a, b [4, 7]", needs(Operation.PLUMBING), false, (s, seed) -> {
            Inputs gen = new Inputs(seed);
            double[] a = gen.gaussian(28, 1);
            double[] b = gen.gaussian(28, 1);
            double[] ref = new double[28];
            for (int i = 0; i < 28; i++) {
                ref[i] = a[i] * b[i];
            }
            Tensor out = s.poisoned(Shape.of(4, 7));
            s.backend().multiply(s.input("a", a, Shape.of(4, 7)), s.input("b", b, Shape.of(4, 7)), out);
            s.compare("a*b", out, ref, Tolerances.Kind.SINGLE);
        });
        list.both("embedding gathers the rows of the ids", "embedding", "table [11, 8], ids [2, 3]",
                needs(Operation.PLUMBING), false, (s, seed) -> {
                    Inputs gen = new Inputs(seed);
                    double[] table = gen.gaussian(88, 1);
                    int[] ids = gen.ids(6, 11);
                    ids[0] = 10;
                    ids[1] = 0;
                    Tensor out = s.poisoned(Shape.of(2, 3, 8));
                    s.backend().embedding(s.input("table", table, Shape.of(11, 8)), ids.clone(), out);
                    s.compare("rows", out, Reference.embedding(table, 8, ids), Tolerances.Kind.SINGLE);
                });
        rotary(list, 0, 16, 10000);
        rotary(list, 37, 8, 500);
        rotary(list, 3000, 16, 10000);
        list.both("splitHeads moves [batch, seq, heads·d] to [batch, heads, seq, d]", "splitHeads",
                "x [2, 5, 12], heads 3", needs(Operation.PLUMBING), false, (s, seed) -> {
                    double[] x = new Inputs(seed).gaussian(120, 1);
                    Tensor out = s.poisoned(Shape.of(2, 3, 5, 4));
                    s.backend().splitHeads(s.input("x", x, Shape.of(2, 5, 12)), out);
                    s.compare("heads", out, Reference.splitHeads(x, 2, 5, 3, 4), Tolerances.Kind.SINGLE);
                });
        list.both("mergeHeads moves [batch, heads, seq, d] to [batch, seq, heads·d]", "mergeHeads",
                "x [2, 3, 5, 4]", needs(Operation.PLUMBING), false, (s, seed) -> {
                    double[] x = new Inputs(seed).gaussian(120, 1);
                    Tensor out = s.poisoned(Shape.of(2, 5, 12));
                    s.backend().mergeHeads(s.input("x", x, Shape.of(2, 3, 5, 4)), out);
                    s.compare("merged", out, Reference.mergeHeads(x, 2, 3, 5, 4), Tolerances.Kind.SINGLE);
                });
        list.both("slice copies a column range of the last dimension", "slice", "x [2, 5, 12], columns 3..8",
                needs(Operation.PLUMBING), false, (s, seed) -> {
                    double[] x = new Inputs(seed).gaussian(120, 1);
                    Tensor out = s.poisoned(Shape.of(2, 5, 5));
                    s.backend().slice(s.input("x", x, Shape.of(2, 5, 12)), 3, out);
                    s.compare("columns", out, Reference.slice(x, 10, 12, 3, 5), Tolerances.Kind.SINGLE);
                });
        list.both("download returns exactly what upload stored", "upload/download", "x [3, 17]",
                needs(Operation.PLUMBING), false, (s, seed) -> {
                    double[] x = new Inputs(seed).gaussian(51, 1);
                    Tensor t = s.input("x", x, Shape.of(3, 17));
                    HostTensor back = s.backend().download(t);
                    s.expect(back.shape().equals(Shape.of(3, 17)) && back.dtype() == s.dtype(),
                            "download: got " + back + ", expected " + s.dtype().label() + " [3, 17]");
                    s.compare("x", back.toDoubleArray(), x, Tolerances.Kind.SINGLE);
                    Tensor zeros = s.own(s.backend().allocate(Shape.of(2, 9), s.dtype()));
                    s.compare("allocate", zeros, new double[18], Tolerances.Kind.SINGLE);
                });
        return list.cases();
    }

    private static void linear(CaseList list, Shape x, int outDim, boolean bias) {
        int in = x.dim(-1);
        int rows = Math.toIntExact(x.elementCount() / in);
        list.both("linear " + (bias ? "with" : "without") + " bias matches the float64 reference", "linear",
                "x " + x + ", weight [" + outDim + ", " + in + "]" + (bias ? ", bias [" + outDim + "]" : ""),
                needs(Operation.PLUMBING), false, (s, seed) -> {
                    Inputs gen = new Inputs(seed);
                    double[] xs = gen.gaussian(rows * in, 1);
                    double[] w = gen.gaussian(outDim * in, 1.0 / Math.sqrt(in));
                    double[] b = bias ? gen.gaussian(outDim, 1) : null;
                    Tensor out = s.poisoned(x.withLast(outDim));
                    s.backend().linear(s.input("x", xs, x), s.input("weight", w, Shape.of(outDim, in)),
                            bias ? s.input("bias", b, Shape.of(outDim)) : null, out);
                    s.compare("y", out, Reference.linear(xs, rows, in, w, outDim, b), Tolerances.Kind.SINGLE);
                });
    }

    private static void rotary(CaseList list, long start, int rotaryDim, double base) {
        Shape shape = Shape.of(2, 3, 5, 16);
        list.both("rotary embedding (rotate halves) matches the float64 reference", "rotary",
                "x " + shape + ", start position " + start + ", rotary dim " + rotaryDim + ", base " + base,
                needs(Operation.PLUMBING), false, (s, seed) -> {
                    double[] x = new Inputs(seed).gaussian(480, 1);
                    Tensor out = s.poisoned(shape);
                    s.backend().rotary(s.input("x", x, shape), start, rotaryDim, base, out);
                    s.compare("y", out, Reference.rotary(x, 6, 5, 16, start, rotaryDim, base), Tolerances.Kind.SINGLE);
                });
    }
}
