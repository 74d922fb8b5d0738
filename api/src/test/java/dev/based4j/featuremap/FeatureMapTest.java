package dev.based4j.featuremap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class FeatureMapTest {

    private static double[] gaussian(Random r, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextGaussian();
        }
        return x;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    @ParameterizedTest(name = "f = {0}")
    @ValueSource(ints = {1, 8, 16, 24})
    void taylorDotProductIsTheSecondOrderExpansionOfExp(int f) {
        Random r = new Random(7L * f);
        Taylor map = new Taylor(f);
        double[] q = gaussian(r, f);
        double[] k = gaussian(r, f);
        double s = dot(q, k) / Math.sqrt(f);
        assertThat(map.outputDim()).isEqualTo(1 + f + f * f);
        assertThat(dot(map.apply(q), map.apply(k))).as("phi(q).phi(k) with seed %d", 7L * f)
                .isCloseTo(1 + s + s * s / 2, within(1e-12 * (1 + s * s)));
    }

    @Test
    void performerDotProductFollowsItsIdentity() {
        int d = 16;
        int m = 64;
        Performer map = Performer.orthogonal(d, m, 3);
        Random r = new Random(11);
        double[] q = gaussian(r, d);
        double[] k = gaussian(r, d);
        double s4 = Math.pow(d, 0.25);
        double qn = 0;
        double kn = 0;
        double[] w = map.projection();
        double sum = 0;
        for (int i = 0; i < d; i++) {
            qn += (q[i] / s4) * (q[i] / s4);
            kn += (k[i] / s4) * (k[i] / s4);
        }
        for (int row = 0; row < m; row++) {
            double t = 0;
            for (int i = 0; i < d; i++) {
                t += w[row * d + i] * (q[i] + k[i]) / s4;
            }
            sum += Math.exp(t);
        }
        double expected = Math.exp(-0.5 * (qn + kn)) * sum / m;
        assertThat(dot(map.apply(q), map.apply(k))).isCloseTo(expected, within(1e-12 * expected));
    }

    @Test
    void performerRowsHaveTheNormZoologyGivesThem() {
        Performer map = Performer.orthogonal(16, 40, 5);
        double[] w = map.projection();
        for (int row = 0; row < 40; row++) {
            double n = 0;
            for (int i = 0; i < 16; i++) {
                n += w[row * 16 + i] * w[row * 16 + i];
            }
            assertThat(Math.sqrt(n)).as("norm of row %d", row).isCloseTo(Math.sqrt(16.0 / 40), within(1e-12));
        }
    }

    @Test
    void cosFormerDependsOnTheLengthOfTheCall() {
        CosFormer map = new CosFormer(2);
        double[] x = {1.0, -2.0};
        double[] out = new double[4];
        map.apply(x, 0, 0, 1, out, 0);
        assertThat(out).containsExactly(1.0, 0.0, Math.cos(Math.PI / 2), 0.0);
        map.apply(x, 0, 1, 4, out, 0);
        assertThat(out[0]).isCloseTo(Math.sin(Math.PI / 4), within(1e-15));
        assertThat(map.hasDecodeForm()).isFalse();
    }

    @Test
    void reluNeverEmitsAnExactZero() {
        assertThat(new Relu(3).apply(new double[] {-1, 0, 2})).containsExactly(1e-12, 1e-12, 2.0);
    }

    @Test
    void weightsAreCheckedAndCopied() {
        double[] w = new double[4];
        AllPoly map = new AllPoly(2, w, w);
        w[0] = 99;
        assertThat(map.p1()[0]).isZero();
        assertThatThrownBy(() -> new AllPoly(2, new double[3], w))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("allpoly.p1: expected 2x2 = 4 values, got 3");
        assertThatThrownBy(() -> new Performer(2, 2, new double[] {1, 2, Double.NaN, 4}))
                .hasMessageContaining("performer.projection: element 2 is NaN");
        assertThatThrownBy(() -> new Taylor(0)).hasMessage("taylor.inputDim: expected 1..256, got 0");
    }
}
