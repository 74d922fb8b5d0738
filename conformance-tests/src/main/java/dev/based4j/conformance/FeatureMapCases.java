package dev.based4j.conformance;

import static dev.based4j.conformance.Requirement.needs;

import dev.based4j.featuremap.AllPoly;
import dev.based4j.featuremap.CosFormer;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Identity;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Relu;
import dev.based4j.featuremap.Square;
import dev.based4j.featuremap.Taylor;
import dev.based4j.reference.Reference;
import dev.based4j.Operation;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/** {@code Backend.featureMap} for every map, against {@link FeatureMap#apply}. */
final class FeatureMapCases {
    private FeatureMapCases() {}

    /** Every feature map the SDK has, with seeded weights where it has any. */
    static List<FeatureMap> everyMap(int d) {
        return List.of(new Taylor(d), new Identity(d), new Relu(d), new PosElu(d), new Square(d), new CosFormer(d),
                Performer.orthogonal(d, 4 * d, 97), AllPoly.random(d, 98));
    }

    static List<ConformanceCase> cases() {
        CaseList list = new CaseList(KernelFamily.FEATURE_MAP, "feature-map", 1000);
        int[][] shapes = {{1, 1, 1}, {2, 3, 7}, {4, 5}};
        for (FeatureMap map : everyMap(16)) {
            for (int[] lead : shapes) {
                add(list, map, lead);
            }
        }
        add(list, new Taylor(8), new int[] {2, 2, 9});
        add(list, new Taylor(1), new int[] {1, 1, 4});
        add(list, Performer.orthogonal(8, 20, 5), new int[] {1, 2, 6});
        return list.cases();
    }

    private static void add(CaseList list, FeatureMap map, int[] lead) {
        int d = map.inputDim();
        int[] dims = Arrays.copyOf(lead, lead.length + 1);
        dims[lead.length] = d;
        Shape shape = Shape.of(dims);
        int seq = lead[lead.length - 1];
        int rows = Math.toIntExact(shape.elementCount() / ((long) seq * d));
        String desc = "the " + map.kind().label() + " feature map matches its float64 definition";
        list.both(desc, "featureMap", "x " + shape + " → " + map.outputDim() + " features", needs(map,
                Operation.FEATURE_MAP), false, (s, seed) -> {
                    double[] x = new Inputs(seed).gaussian(Math.toIntExact(shape.elementCount()), 1.0);
                    Tensor in = s.input("x", x, shape);
                    Tensor out = s.poisoned(shape.withLast(map.outputDim()));
                    s.backend().featureMap(map, in, out);
                    s.compare("φ(x)", out, Reference.featureMap(map, x, rows, seq), Tolerances.Kind.SINGLE);
                });
    }
}
