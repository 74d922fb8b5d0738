package dev.based4j.cpu;

import dev.based4j.cpu.kernels.F32Kernels;
import dev.based4j.featuremap.AllPoly;
import dev.based4j.featuremap.CosFormer;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Identity;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Relu;
import dev.based4j.featuremap.Square;
import dev.based4j.featuremap.Taylor;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.Random;

/** Seeded inputs, uploads and the error measure shared by the tests. */
final class Fixture {
    /** Threads of the test backends: more than the cores of a small machine, so the pool really hands off. */
    static final int THREADS = 3;

    private Fixture() {}

    static Backend backend() {
        return CpuEngine.create(THREADS, F32Kernels.select(false)).open("cpu");
    }

    /**
     * Gaussian values rounded to float, so that float32 and float64 tensors hold the same numbers and the
     * float64 reference sees exactly what the float32 kernel saw.
     */
    static double[] gaussian(Random random, int n, double std) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (random.nextGaussian() * std);
        }
        return a;
    }

    /** Positive values {@code |N(0,1)| + 0.25}, rounded to float. */
    static double[] positive(Random random, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (Math.abs(random.nextGaussian()) + 0.25);
        }
        return a;
    }

    static Tensor upload(Backend backend, double[] data, Shape shape, DType dtype) {
        return backend.upload(HostTensor.of(data, shape, dtype));
    }

    static double[] download(Backend backend, Tensor t) {
        return backend.download(t).toDoubleArray();
    }

    /** {@code max|out - ref| / max(1, max|ref|)}, the project's relative error; NaN anywhere is infinite. */
    static double relativeError(double[] out, double[] ref) {
        if (out.length != ref.length) {
            throw new AssertionError("length " + out.length + " != reference length " + ref.length);
        }
        double maxDiff = 0;
        double maxRef = 1;
        for (int i = 0; i < out.length; i++) {
            double diff = Math.abs(out[i] - ref[i]);
            if (Double.isNaN(diff)) {
                return Double.POSITIVE_INFINITY;
            }
            maxDiff = Math.max(maxDiff, diff);
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        return maxDiff / maxRef;
    }

    /** Tolerance of a single kernel or layer (sdk-conventions.md). */
    static double tolerance(DType dtype) {
        return dtype == DType.F64 ? 1e-10 : 1e-5;
    }

    /** Tolerance of long sequences and of the fused layer (sdk-conventions.md). */
    static double longTolerance(DType dtype) {
        return dtype == DType.F64 ? 1e-10 : 1e-4;
    }

    /** @return true if some value differs from zero: comparisons on zeros prove nothing */
    static boolean nonZero(double[] a) {
        for (double v : a) {
            if (v != 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Every feature map on inputs of dimension {@code f}. AllPoly gets a non-negative second matrix so that the
     * attention normaliser stays positive on positive inputs.
     */
    static List<FeatureMap> allMaps(int f, long seed) {
        AllPoly random = AllPoly.random(f, seed);
        double[] p2 = random.p2();
        for (int i = 0; i < p2.length; i++) {
            p2[i] = Math.abs(p2[i]);
        }
        return List.of(new Taylor(f), new Identity(f), new Relu(f), new PosElu(f), new Square(f), new CosFormer(f),
                Performer.orthogonal(f, 2 * f + 3, seed), new AllPoly(f, random.p1(), p2));
    }

    /** @return whether q and k must be positive for {@code map}'s normaliser to stay away from zero */
    static boolean needsPositiveInputs(FeatureMap map) {
        return map.signedDotProduct();
    }
}
