package dev.based4j.conformance;

import dev.based4j.tensor.DType;
import java.util.ArrayList;
import java.util.List;

/** Collects the cases of one family with stable ids and seeds ({@code family base + running number}). */
final class CaseList {
    private final KernelFamily family;
    private final String prefix;
    private final long seedBase;
    private final List<ConformanceCase> cases = new ArrayList<>();
    private int next;

    CaseList(KernelFamily family, String prefix, long seedBase) {
        this.family = family;
        this.prefix = prefix;
        this.seedBase = seedBase;
    }

    /** Adds the case in both precisions; each gets its own id, the seed is shared so f32 and f64 see one input. */
    void both(String description, String op, String shape, Requirement.Factory requirement, boolean needsAnother,
            Seeded body) {
        long seed = seedBase + next;
        for (DType t : DType.compute()) {
            add(description, op, shape, t, seed, requirement.of(t), needsAnother, body.withSeed(seed));
        }
    }

    void add(String description, String op, String shape, DType dtype, long seed, Requirement requirement,
            boolean needsAnother, CatalogueCase.Body body) {
        String id = prefix + "/" + next++;
        cases.add(new CatalogueCase(family, id, description, op, shape, dtype, seed, requirement, needsAnother, body));
    }

    List<ConformanceCase> cases() {
        return cases;
    }

    /** A body that needs the case's seed. */
    @FunctionalInterface
    interface Seeded {
        void run(CheckSession session, long seed) throws Exception;

        default CatalogueCase.Body withSeed(long seed) {
            return s -> run(s, seed);
        }
    }
}
