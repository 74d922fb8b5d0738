package dev.based4j.conformance;

import static dev.based4j.conformance.Requirement.needs;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.CosFormer;
import dev.based4j.featuremap.Taylor;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.WeightSource;
import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bad input is refused before anything is computed, with an exception that names the parameter, and leaves the
 * inputs and the state unchanged ({@code Backend}'s contract).
 */
final class BadInputCases {
    private BadInputCases() {}

    private static final Class<IllegalArgumentException> IAE = IllegalArgumentException.class;
    private static final Class<IllegalStateException> ISE = IllegalStateException.class;

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.BAD_INPUT, "bad-input", 9000);
        list.both("linear attention refuses wrong shapes, naming the parameter, and leaves the state unchanged",
                "linearAttentionPrefill", "q, k [1, 2, 5, 4], v [1, 2, 5, 3], taylor f 4",
                needs(new Taylor(4), Operation.LINEAR_ATTENTION), false, BadInputCases::linearShapes);
        list.both("sliding-window attention refuses wrong shapes and a state of another lookback", "slidingWindowPrefill",
                "q, k, v [1, 2, 5, 4], lookback 3", needs(Operation.SLIDING_WINDOW), false, BadInputCases::windowShapes);
        list.both("fused attention refuses wrong shapes and a state of another lookback", "basedAttentionPrefill",
                "q, k [1, 2, 5, 4], v [1, 2, 5, 3], taylor f 4, lookback 2",
                needs(new Taylor(4), Operation.BASED_ATTENTION), false, BadInputCases::basedShapes);
        list.both("feature maps refuse an input of the wrong dimension", "featureMap", "x [2, 5, 4], taylor f 4",
                needs(new Taylor(4), Operation.FEATURE_MAP), false, (s, seed) -> {
                    Tensor x = s.input("x", new Inputs(seed).gaussian(30, 1), Shape.of(2, 5, 3));
                    s.expectRefused("x of dimension 3 for f 4", IAE, "x",
                            () -> s.backend().featureMap(new Taylor(4), x, s.poisoned(Shape.of(2, 5, 21))));
                    Tensor good = s.input("x", new Inputs(seed).gaussian(40, 1), Shape.of(2, 5, 4));
                    s.expectRefused("out of the wrong width", IAE, "out",
                            () -> s.backend().featureMap(new Taylor(4), good, s.poisoned(Shape.of(2, 5, 20))));
                });
        list.both("the causal convolution refuses a weight of the wrong kernel size and a wrong input rank",
                "causalConv", "x [1, 4, 6], weight [6, 3]", needs(Operation.CAUSAL_CONV), false, (s, seed) -> {
                    Inputs gen = new Inputs(seed);
                    Tensor x = s.input("x", gen.gaussian(24, 1), Shape.of(1, 4, 6));
                    Tensor w = s.input("weight", gen.gaussian(24, 1), Shape.of(6, 4));
                    ConvState st = s.own(ConvState.zeros(s.backend(), 1, 6, 3, s.dtype()));
                    s.expectRefused("weight [6, 4] for a kernel-3 state", IAE, "weight",
                            () -> s.backend().causalConv(x, w, st, s.poisoned(Shape.of(1, 4, 6))));
                    Tensor flat = s.input("x", gen.gaussian(24, 1), Shape.of(4, 6));
                    Tensor w3 = s.input("weight", gen.gaussian(18, 1), Shape.of(6, 3));
                    s.expectRefused("x of rank 2", IAE, "x",
                            () -> s.backend().causalConv(flat, w3, st, s.poisoned(Shape.of(4, 6))));
                    s.expect(st.position() == 0, "a refused call advanced the conv state to " + st.position());
                });
        list.both("plumbing ops refuse mismatched shapes and out-of-range values, naming the parameter", "plumbing",
                "various", needs(Operation.PLUMBING), false, BadInputCases::plumbing);
        list.both("kernels refuse a closed tensor and say that it was closed", "linearAttentionPrefill/linear/download",
                "q, k [1, 1, 3, 4], v [1, 1, 3, 4]", needs(new Taylor(4), Operation.LINEAR_ATTENTION, Operation.PLUMBING),
                false, BadInputCases::closed);
        list.both("kernels refuse a tensor of another backend instance, naming the parameter",
                "linearAttentionPrefill/linear", "q, k [1, 1, 3, 4], v [1, 1, 3, 4]",
                needs(new Taylor(4), Operation.LINEAR_ATTENTION, Operation.PLUMBING), true, BadInputCases::foreign);
        list.both("a closed backend refuses to allocate", "allocate", "[2, 2]", needs(), true, (s, seed) -> {
            Backend other = s.anotherInstance();
            other.close();
            s.expectRefused("allocate after close", ISE, null, () -> other.allocate(Shape.of(2, 2), s.dtype()),
                    "closed");
            other.close();
        });
        list.both("CosFormer refuses to decode and to continue from a non-empty state", "linearAttentionDecode",
                "q, k, v [1, 1, 1, 4], cosformer d 4", needs(new CosFormer(4), Operation.LINEAR_ATTENTION), false,
                (s, seed) -> {
                    Inputs gen = new Inputs(seed);
                    LinearAttentionSpec spec = LinearAttentionSpec.of(new CosFormer(4));
                    Tensor q = s.input("q", gen.gaussian(4, 1), Shape.of(1, 1, 1, 4));
                    Tensor k = s.input("k", gen.gaussian(4, 1), Shape.of(1, 1, 1, 4));
                    Tensor v = s.input("v", gen.gaussian(4, 1), Shape.of(1, 1, 1, 4));
                    LinearAttentionState st = s.own(LinearAttentionState.zeros(s.backend(), 1, 1, 8, 4, s.dtype()));
                    s.expectRefused("decode with cosformer", UnsupportedOperationException.class, "featureMap",
                            () -> s.backend().linearAttentionDecode(spec, q, k, v, st, s.poisoned(Shape.of(1, 1, 1, 4))),
                            "decode");
                    s.backend().linearAttentionPrefill(spec, q, k, v, st, s.poisoned(Shape.of(1, 1, 1, 4)));
                    s.expectRefused("a second cosformer prefill", IAE, "state",
                            () -> s.backend().linearAttentionPrefill(spec, q, k, v, st, s.poisoned(Shape.of(1, 1, 1, 4))));
                });
        list.both("a layer refuses a checkpoint tensor of the wrong shape, naming the tensor and both shapes",
                "LinearAttentionLayer.load", "d_model 8, heads 2, f 4", needs(Operation.PLUMBING), false, (s, seed) -> {
                    LinearAttentionLayer.Config c = LinearAttentionLayer.Config.of(8, 2, 4);
                    Map<String, HostTensor> w = new HashMap<>(c.randomWeights(seed));
                    w.put("proj_k.weight", HostTensor.allocate(Shape.of(8, 7), s.dtype()));
                    s.expectRefused("proj_k.weight [8, 7]", IAE, "proj_k.weight",
                            () -> s.own(LinearAttentionLayer.load(s.backend(), s.dtype(), WeightSource.of(w), c)),
                            "[8, 8]", "[8, 7]");
                });
        return list.cases();
    }

    private static void linearShapes(CheckSession s, long seed) {
        Inputs gen = new Inputs(seed);
        Backend b = s.backend();
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(4));
        Tensor q = s.input("q", gen.gaussian(40, 1), Shape.of(1, 2, 5, 4));
        Tensor k = s.input("k", gen.gaussian(40, 1), Shape.of(1, 2, 5, 4));
        Tensor v = s.input("v", gen.gaussian(30, 1), Shape.of(1, 2, 5, 3));
        Tensor kBad = s.input("k", gen.gaussian(30, 1), Shape.of(1, 2, 5, 3));
        Tensor vBad = s.input("v", gen.gaussian(24, 1), Shape.of(1, 2, 4, 3));
        LinearAttentionState st = s.own(LinearAttentionState.zeros(b, 1, 2, 21, 3, s.dtype()));
        LinearAttentionState wrongHeads = s.own(LinearAttentionState.zeros(b, 1, 3, 21, 3, s.dtype()));
        s.expectRefused("k with f 3", IAE, "k", () -> b.linearAttentionPrefill(spec, q, kBad, v, st, out(s)));
        s.expectRefused("v with seq 4", IAE, "v", () -> b.linearAttentionPrefill(spec, q, k, vBad, st, out(s)));
        s.expectRefused("out with dv 4", IAE, "out",
                () -> b.linearAttentionPrefill(spec, q, k, v, st, s.poisoned(Shape.of(1, 2, 5, 4))));
        s.expectRefused("a state of 3 heads", IAE, "state.kv",
                () -> b.linearAttentionPrefill(spec, q, k, v, wrongHeads, out(s)));
        s.expectRefused("a null spec", IAE, "spec", () -> b.linearAttentionPrefill(null, q, k, v, st, out(s)));
        s.expectRefused("a null state", IAE, "state", () -> b.linearAttentionPrefill(spec, q, k, v, null, out(s)));
        s.expectRefused("decode of 5 tokens", IAE, "q", () -> b.linearAttentionDecode(spec, q, k, v, st, out(s)));
        s.expectRefused("out aliasing v", IAE, "out", () -> b.linearAttentionPrefill(spec, q, k, v, st, v));
        s.expect(st.position() == 0, "refused calls advanced the state to position " + st.position());
        s.compare("state.kv after refused calls", st.kv(), new double[2 * 3 * 21], Tolerances.Kind.SINGLE);
        s.compare("state.z after refused calls", st.z(), new double[2 * 21], Tolerances.Kind.SINGLE);
    }

    private static Tensor out(CheckSession s) {
        return s.poisoned(Shape.of(1, 2, 5, 3));
    }

    private static void windowShapes(CheckSession s, long seed) {
        Inputs gen = new Inputs(seed);
        Backend b = s.backend();
        SlidingWindowSpec spec = SlidingWindowSpec.of(3);
        Tensor q = s.input("q", gen.gaussian(40, 1), Shape.of(1, 2, 5, 4));
        Tensor k = s.input("k", gen.gaussian(40, 1), Shape.of(1, 2, 5, 4));
        Tensor v = s.input("v", gen.gaussian(40, 1), Shape.of(1, 2, 5, 4));
        Tensor kBad = s.input("k", gen.gaussian(20, 1), Shape.of(1, 1, 5, 4));
        WindowState st = s.own(WindowState.empty(b, 1, 2, 4, 4, 3, s.dtype()));
        WindowState other = s.own(WindowState.empty(b, 1, 2, 4, 4, 5, s.dtype()));
        Tensor o = s.poisoned(Shape.of(1, 2, 5, 4));
        s.expectRefused("k of 1 head", IAE, "k", () -> b.slidingWindowPrefill(spec, q, kBad, v, st, o));
        s.expectRefused("a state of lookback 5", IAE, "state", () -> b.slidingWindowPrefill(spec, q, k, v, other, o));
        s.expectRefused("out of seq 4", IAE, "out",
                () -> b.slidingWindowPrefill(spec, q, k, v, st, s.poisoned(Shape.of(1, 2, 4, 4))));
        s.expectRefused("a null spec", IAE, "spec", () -> b.slidingWindowPrefill(null, q, k, v, st, o));
        s.expect(st.position() == 0, "refused calls advanced the ring to position " + st.position());
        s.compare("state.keys after refused calls", st.keys(), new double[2 * 4 * 4], Tolerances.Kind.SINGLE);
    }

    private static void basedShapes(CheckSession s, long seed) {
        Inputs gen = new Inputs(seed);
        Backend b = s.backend();
        BasedAttentionSpec spec = BasedAttentionSpec.of(new Taylor(4), 2);
        Tensor q = s.input("q", gen.gaussian(40, 1), Shape.of(1, 2, 5, 4));
        Tensor k = s.input("k", gen.gaussian(40, 1), Shape.of(1, 2, 5, 4));
        Tensor v = s.input("v", gen.gaussian(30, 1), Shape.of(1, 2, 5, 3));
        Tensor vBad = s.input("v", gen.gaussian(15, 1), Shape.of(1, 1, 5, 3));
        BasedAttentionState st = s.own(BasedAttentionState.empty(b, 1, 2, 4, 21, 3, 2, s.dtype()));
        BasedAttentionState other = s.own(BasedAttentionState.empty(b, 1, 2, 4, 21, 3, 4, s.dtype()));
        Tensor o = s.poisoned(Shape.of(1, 2, 5, 3));
        s.expectRefused("v of 1 head", IAE, "v", () -> b.basedAttentionPrefill(spec, q, k, vBad, st, o));
        s.expectRefused("a state of lookback 4", IAE, "state", () -> b.basedAttentionPrefill(spec, q, k, v, other, o));
        s.expectRefused("decode of 5 tokens", IAE, "q", () -> b.basedAttentionDecode(spec, q, k, v, st, o));
        s.expect(st.position() == 0, "refused calls advanced the fused state to position " + st.position());
    }

    private static void plumbing(CheckSession s, long seed) {
        Inputs gen = new Inputs(seed);
        Backend b = s.backend();
        Tensor x = s.input("x", gen.gaussian(24, 1), Shape.of(2, 3, 4));
        Tensor w = s.input("weight", gen.gaussian(15, 1), Shape.of(3, 5));
        s.expectRefused("linear with in 5 for x [.., 4]", IAE, "x",
                () -> b.linear(x, w, null, s.poisoned(Shape.of(2, 3, 3))));
        Tensor w4 = s.input("weight", gen.gaussian(12, 1), Shape.of(3, 4));
        Tensor bias = s.input("bias", gen.gaussian(4, 1), Shape.of(4));
        s.expectRefused("linear with bias [4] for 3 outputs", IAE, "bias",
                () -> b.linear(x, w4, bias, s.poisoned(Shape.of(2, 3, 3))));
        s.expectRefused("linear out of the wrong width", IAE, "out",
                () -> b.linear(x, w4, null, s.poisoned(Shape.of(2, 3, 4))));
        Tensor nw = s.input("weight", gen.uniform(4, 0.5, 1.5), Shape.of(4));
        s.expectRefused("rmsNorm with eps 0", IAE, "eps", () -> b.rmsNorm(x, nw, 0, s.poisoned(Shape.of(2, 3, 4))));
        s.expectRefused("rmsNorm with NaN eps", IAE, "eps",
                () -> b.rmsNorm(x, nw, Double.NaN, s.poisoned(Shape.of(2, 3, 4))));
        Tensor other = s.input("b", gen.gaussian(12, 1), Shape.of(2, 3, 2));
        s.expectRefused("add of [2, 3, 2] to [2, 3, 4]", IAE, "b", () -> b.add(x, other, s.poisoned(Shape.of(2, 3, 4))));
        Tensor table = s.input("table", gen.gaussian(20, 1), Shape.of(5, 4));
        s.expectRefused("embedding id 5 of vocab 5", IAE, "ids",
                () -> b.embedding(table, new int[] {0, 5}, s.poisoned(Shape.of(1, 2, 4))));
        s.expectRefused("embedding id -1", IAE, "ids",
                () -> b.embedding(table, new int[] {-1, 0}, s.poisoned(Shape.of(1, 2, 4))));
        Tensor heads = s.input("x", gen.gaussian(24, 1), Shape.of(1, 2, 3, 4));
        s.expectRefused("rotary dim 3", IAE, "rotaryDim", () -> b.rotary(heads, 0, 3, 10000, s.poisoned(Shape.of(1, 2, 3, 4))));
        s.expectRefused("rotary at position -1", IAE, "startPosition",
                () -> b.rotary(heads, -1, 4, 10000, s.poisoned(Shape.of(1, 2, 3, 4))));
        s.expectRefused("slice of columns 3..5 of 4", IAE, "from", () -> b.slice(x, 3, s.poisoned(Shape.of(2, 3, 2))));
        s.expectRefused("splitHeads into [2, 3, 3, 2]", IAE, "out",
                () -> b.splitHeads(x, s.poisoned(Shape.of(2, 3, 3, 2))));
        s.expectRefused("download into a host tensor of another shape", IAE, "dst",
                () -> b.download(x, HostTensor.allocate(Shape.of(3, 2, 4), s.dtype())));
        s.expectRefused("linear with a null x", IAE, "x", () -> b.linear(null, w4, null, s.poisoned(Shape.of(2, 3, 3))));
    }

    private static void closed(CheckSession s, long seed) {
        Inputs gen = new Inputs(seed);
        Backend b = s.backend();
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(4));
        Tensor q = s.input("q", gen.gaussian(12, 1), Shape.of(1, 1, 3, 4));
        Tensor k = s.input("k", gen.gaussian(12, 1), Shape.of(1, 1, 3, 4));
        Tensor v = s.input("v", gen.gaussian(12, 1), Shape.of(1, 1, 3, 4));
        Tensor gone = s.own(b.upload(HostTensor.of(gen.gaussian(12, 1), Shape.of(1, 1, 3, 4), s.dtype())));
        gone.close();
        s.expect(gone.isClosed(), "isClosed() is false after close()");
        LinearAttentionState st = s.own(LinearAttentionState.zeros(b, 1, 1, 21, 4, s.dtype()));
        s.expectRefused("a closed q", ISE, "q",
                () -> b.linearAttentionPrefill(spec, gone, k, v, st, s.poisoned(Shape.of(1, 1, 3, 4))), "closed");
        s.expectRefused("a closed out", ISE, "out", () -> b.linearAttentionPrefill(spec, q, k, v, st, gone), "closed");
        Tensor w = s.input("weight", gen.gaussian(8, 1), Shape.of(2, 4));
        s.expectRefused("a closed x of linear", ISE, "x", () -> b.linear(gone, w, null, s.poisoned(Shape.of(1, 1, 3, 2))),
                "closed");
        s.expectRefused("download of a closed tensor", ISE, "src", () -> b.download(gone), "closed");
        st.close();
        s.expectRefused("a closed state", ISE, "state.kv",
                () -> b.linearAttentionPrefill(spec, q, k, v, st, s.poisoned(Shape.of(1, 1, 3, 4))), "closed");
    }

    private static void foreign(CheckSession s, long seed) {
        Inputs gen = new Inputs(seed);
        Backend b = s.backend();
        Backend other = s.anotherInstance();
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(4));
        Tensor q = s.input("q", gen.gaussian(12, 1), Shape.of(1, 1, 3, 4));
        Tensor k = s.input("k", gen.gaussian(12, 1), Shape.of(1, 1, 3, 4));
        Tensor v = s.input("v", gen.gaussian(12, 1), Shape.of(1, 1, 3, 4));
        Tensor foreignQ = s.input(other, "q", gen.gaussian(12, 1), Shape.of(1, 1, 3, 4));
        LinearAttentionState st = s.own(LinearAttentionState.zeros(b, 1, 1, 21, 4, s.dtype()));
        LinearAttentionState foreignState = s.own(LinearAttentionState.zeros(other, 1, 1, 21, 4, s.dtype()));
        s.expectRefused("q of another instance", IAE, "q",
                () -> b.linearAttentionPrefill(spec, foreignQ, k, v, st, s.poisoned(Shape.of(1, 1, 3, 4))));
        s.expectRefused("a state of another instance", IAE, "state.kv",
                () -> b.linearAttentionPrefill(spec, q, k, v, foreignState, s.poisoned(Shape.of(1, 1, 3, 4))));
        Tensor foreignW = s.input(other, "weight", gen.gaussian(8, 1), Shape.of(2, 4));
        s.expectRefused("a weight of another instance", IAE, "weight",
                () -> b.linear(q, foreignW, null, s.poisoned(Shape.of(1, 1, 3, 2))));
        s.expect(st.position() == 0, "refused calls advanced the state to position " + st.position());
    }
}
