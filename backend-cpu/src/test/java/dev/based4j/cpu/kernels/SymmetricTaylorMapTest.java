package dev.based4j.cpu.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.based4j.featuremap.Taylor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The compact (upper-triangle) Taylor layout against the canonical one it stands in for. */
class SymmetricTaylorMapTest {
    private static float[] gaussian(Random r, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * std);
        }
        return a;
    }

    private static F32FeatureMap.SymmetricTaylorMap compact(int f) {
        return (F32FeatureMap.SymmetricTaylorMap) F32FeatureMap.of(new Taylor(f), new VectorF32Kernels()).compact();
    }

    @ParameterizedTest(name = "f = {0}")
    @ValueSource(ints = {1, 3, 8, 16})
    void hasOnePlusFPlusTheTriangleFeatures(int f) {
        assertThat(compact(f).outputDim).isEqualTo(1 + f + f * (f + 1) / 2);
        assertThat(compact(f).inputDim).isEqualTo(f);
    }

    @ParameterizedTest(name = "f = {0}")
    @ValueSource(ints = {3, 8, 16})
    void queryDotKeyIsTheCanonicalDotProduct(int f) {
        F32FeatureMap full = F32FeatureMap.of(new Taylor(f), new PlainF32Kernels());
        F32FeatureMap.SymmetricTaylorMap compact = compact(f);
        Random r = new Random(31L * f);
        for (int trial = 0; trial < 50; trial++) {
            float[] q = gaussian(r, f, 1.5);
            float[] k = gaussian(r, f, 1.5);
            float[] fq = new float[full.outputDim];
            float[] fk = new float[full.outputDim];
            full.apply(q, 0, 0, 1, fq, 0);
            full.apply(k, 0, 0, 1, fk, 0);
            float[] cq = new float[compact.outputDim];
            float[] ck = new float[compact.outputDim];
            compact.applyQuery(q, 0, 0, 1, cq, 0);
            compact.apply(k, 0, 0, 1, ck, 0);
            double canonical = 0;
            double compactDot = 0;
            for (int i = 0; i < fq.length; i++) {
                canonical += (double) fq[i] * fk[i];
            }
            for (int i = 0; i < cq.length; i++) {
                compactDot += (double) cq[i] * ck[i];
            }
            double s = 0;
            for (int i = 0; i < f; i++) {
                s += (double) q[i] * k[i];
            }
            s /= Math.sqrt(f);
            assertThat(compactDot).as("trial %d", trial).isCloseTo(canonical, within(1e-5 * Math.abs(canonical)));
            assertThat(compactDot).as("trial %d, 1 + s + s²/2", trial).isCloseTo(1 + s + s * s / 2,
                    within(1e-5 * (1 + s + s * s / 2)));
        }
    }

    @ParameterizedTest(name = "f = {0}")
    @ValueSource(ints = {3, 16})
    void keyFeaturesAreTheCanonicalFloatsOfTheUpperTriangle(int f) {
        F32FeatureMap full = F32FeatureMap.of(new Taylor(f), new VectorF32Kernels());
        F32FeatureMap.SymmetricTaylorMap compact = compact(f);
        float[] k = gaussian(new Random(7), f, 1.0);
        float[] fk = new float[full.outputDim];
        float[] ck = new float[compact.outputDim];
        full.apply(k, 0, 0, 1, fk, 0);
        compact.apply(k, 0, 0, 1, ck, 0);
        float[] upper = new float[compact.outputDim];
        System.arraycopy(fk, 0, upper, 0, 1 + f);
        int p = 1 + f;
        for (int i = 0; i < f; i++) {
            for (int j = i; j < f; j++) {
                upper[p++] = fk[1 + f + i * f + j];
            }
        }
        assertThat(ck).containsExactly(upper);
    }

    @ParameterizedTest(name = "f = {0}")
    @ValueSource(ints = {3, 16})
    void columnsAreTheKeyFeaturesOfEachToken(int f) {
        F32FeatureMap.SymmetricTaylorMap compact = compact(f);
        int tokens = 11;
        int ld = 13;
        float[] x = gaussian(new Random(17), tokens * f, 1.0);
        float[] xt = new float[f * ld];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < f; i++) {
                xt[i * ld + 2 + t] = x[t * f + i];
            }
        }
        int dw = compact.outputDim;
        float[] columns = new float[dw * tokens];
        compact.applyColumns(xt, ld, 2, tokens, 0, tokens, columns, 0, tokens);
        float[] row = new float[dw];
        for (int t = 0; t < tokens; t++) {
            compact.apply(x, t * f, t, tokens, row, 0);
            for (int e = 0; e < dw; e++) {
                assertThat(columns[e * tokens + t]).as("token %d feature %d", t, e).isEqualTo(row[e]);
            }
        }
    }
}
