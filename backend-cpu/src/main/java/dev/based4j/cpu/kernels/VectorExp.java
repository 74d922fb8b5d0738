package dev.based4j.cpu.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code e^x} for every lane, computed with additions, multiplications and fused multiply-adds only, so that it gives
 * the same bits compiled and interpreted. The Vector API's own {@code EXP} does not: C2 calls a vector math library
 * while the interpreter and C1 take {@link Math#exp} lane by lane, and the two differ in the last bit, which made a
 * softmax (and every later result) depend on whether the JIT had compiled the kernel yet.
 *
 * <p>The method is Cephes' {@code expf}: {@code x = n·ln 2 + r} with {@code n} the nearest integer of
 * {@code x / ln 2} (found with the 1.5·2²³ rounding constant, exact for the clamped range) and {@code ln 2} split in
 * two parts so that {@code r} is exact, a degree-6 polynomial for {@code e^r} on {@code |r| ≤ ln 2 / 2}, then the
 * exponent {@code n} put into the float's exponent bits. Relative error below 2 ulp over the clamped range
 * {@code [-87.3, 88.3]}: inputs below it give about 1.2e-38 instead of a denormal or zero, inputs above it 2.1e38
 * instead of up to infinity (a softmax's shifted scores are at most 0); NaN stays NaN. Used by
 * {@link VectorF32Kernels} only, with the vector module present.
 */
final class VectorExp {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5·2²³: adding and subtracting it rounds a float of magnitude below 2²² to the nearest integer. */
    private static final float ROUND = 12582912f;
    /** The largest input whose {@code n} (127) still fits a normal float's exponent. */
    private static final float HI = 88.3f;
    /** The smallest input whose {@code n} (-126) still gives a normal float. */
    private static final float LO = -87.3f;

    private VectorExp() {}

    /** @return {@code e^x} lane by lane, as the class comment describes */
    static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> species = x.species();
        FloatVector v = x.max(LO).min(HI);
        FloatVector n = v.fma(FloatVector.broadcast(species, LOG2E), FloatVector.broadcast(species, ROUND))
                .sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(species, -LN2_HI), v);
        r = n.fma(FloatVector.broadcast(species, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(species, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(species, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(species, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(species, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(species, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(species, 5.0000001201e-1f));
        FloatVector y = p.mul(r).fma(r, r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector scale = bits.reinterpretAsFloats();
        // a NaN lane stays NaN: max and min keep it, and so do the polynomial and the product
        return y.mul(scale);
    }
}
