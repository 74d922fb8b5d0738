package dev.based4j.opencl;

import static dev.based4j.opencl.OpenClTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

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
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FeatureMapKernelsTest {
    static Stream<Arguments> maps() {
        Stream<FeatureMap> maps = Stream.of(new Taylor(16), new Taylor(8), new Identity(16), new Relu(16),
                new PosElu(16), new Square(16), new CosFormer(16), Performer.orthogonal(16, 64, 3),
                AllPoly.random(16, 4));
        return maps.flatMap(m -> DType.compute().stream().map(t -> Arguments.of(m, t)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("maps")
    void everyMapMatchesItsFloat64Definition(FeatureMap map, DType dtype) {
        Backend b = backend();
        assumePrecision(b, dtype);
        long seed = 101 + map.kind().ordinal();
        Random r = new Random(seed);
        int batch = 2, heads = 3, seq = 7, d = map.inputDim();
        double[] x = as(random(r, batch * heads * seq * d, 1), dtype);
        double[] ref = Reference.featureMap(map, x, batch * heads, seq);
        try (Tensor tx = upload(b, x, dtype, batch, heads, seq, d); Tensor out = b.featureMap(map, tx)) {
            assertThat(out.shape().dims()).containsExactly(batch, heads, seq, map.outputDim());
            assertThat(maxAbs(ref)).as("reference is not all zeros").isGreaterThan(0.01);
            assertThat(relativeError(download(b, out), ref)).as(map + " vs float64 reference, seed " + seed)
                    .isLessThan(tolerance(dtype));
        }
    }
}
