package dev.based4j.examples;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The loop {@link MachinePeak} times: {@link FloatVector#fma} of the platform's preferred species (256 bits with
 * AVX2, 512 with AVX-512) on {@value #CHAINS} independent accumulators, enough to hide the FMA latency of two
 * pipes and few enough to stay in the 16 vector registers of AVX2; nothing is loaded from memory. Loaded by name only
 * when {@code jdk.incubator.vector} is in the boot layer, so that no other class mentions vector types.
 */
final class VectorFma implements MachinePeak.FmaLoop {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Independent dependency chains. */
    static final int CHAINS = 12;
    /** Steps of every chain per call. */
    static final int STEPS = 1024;

    // fields, not constants, so that the compiler cannot fold the chains; a·x + c converges to c/(1-x) without
    // overflow or denormals
    private final float multiplier = 0.999f;
    private final float addend = 0.001f;

    /** Made by {@link MachinePeak} by reflection. */
    VectorFma() {}

    @Override
    public int lanes() {
        return SPECIES.length();
    }

    @Override
    public double flopsPerCall() {
        return 2.0 * CHAINS * STEPS * SPECIES.length();
    }

    @Override
    public float call() {
        FloatVector x = FloatVector.broadcast(SPECIES, multiplier);
        FloatVector c = FloatVector.broadcast(SPECIES, addend);
        FloatVector a0 = FloatVector.broadcast(SPECIES, 0.10f);
        FloatVector a1 = FloatVector.broadcast(SPECIES, 0.11f);
        FloatVector a2 = FloatVector.broadcast(SPECIES, 0.12f);
        FloatVector a3 = FloatVector.broadcast(SPECIES, 0.13f);
        FloatVector a4 = FloatVector.broadcast(SPECIES, 0.14f);
        FloatVector a5 = FloatVector.broadcast(SPECIES, 0.15f);
        FloatVector a6 = FloatVector.broadcast(SPECIES, 0.16f);
        FloatVector a7 = FloatVector.broadcast(SPECIES, 0.17f);
        FloatVector a8 = FloatVector.broadcast(SPECIES, 0.18f);
        FloatVector a9 = FloatVector.broadcast(SPECIES, 0.19f);
        FloatVector a10 = FloatVector.broadcast(SPECIES, 0.20f);
        FloatVector a11 = FloatVector.broadcast(SPECIES, 0.21f);
        for (int i = 0; i < STEPS; i++) {
            a0 = a0.fma(x, c);
            a1 = a1.fma(x, c);
            a2 = a2.fma(x, c);
            a3 = a3.fma(x, c);
            a4 = a4.fma(x, c);
            a5 = a5.fma(x, c);
            a6 = a6.fma(x, c);
            a7 = a7.fma(x, c);
            a8 = a8.fma(x, c);
            a9 = a9.fma(x, c);
            a10 = a10.fma(x, c);
            a11 = a11.fma(x, c);
        }
        FloatVector sum = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10)
                .add(a11);
        return sum.reduceLanes(VectorOperators.ADD);
    }
}
