package dev.based4j.conformance;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Every seeded conformance case, the single source of checks both drivers run: every kernel family over many
 * shapes (seq 1, seq below, at and past the lookback, lengths that are not multiples of the chunk, batch and heads
 * above 1), every feature map, the quadratic, chunked and recurrent prefill, F32 and F64; the layers and a small
 * stack; state save and resume; bad input. The golden cases come from {@link GoldenSet}.
 */
public final class Catalogue {
    private Catalogue() {}

    private static final class Holder {
        static final List<ConformanceCase> ALL = build();
    }

    private static List<ConformanceCase> build() {
        List<ConformanceCase> all = new ArrayList<>();
        all.addAll(FeatureMapCases.cases());
        all.addAll(LinearAttentionCases.cases());
        all.addAll(SlidingWindowCases.cases());
        all.addAll(BasedAttentionCases.cases());
        all.addAll(CausalConvCases.cases());
        all.addAll(PlumbingCases.cases());
        all.addAll(WeightFormatCases.plumbing());
        all.addAll(LayerCases.cases());
        all.addAll(WeightFormatCases.layers());
        all.addAll(StateFormatCases.cases());
        all.addAll(BadInputCases.cases());
        return List.copyOf(all);
    }

    /** @return every seeded case of every family (not the golden cases), in a stable order */
    public static List<ConformanceCase> all() {
        return Holder.ALL;
    }

    /**
     * @return the seeded cases of one family; for {@link KernelFamily#GOLDEN}, the bundled golden cases
     */
    public static List<ConformanceCase> of(KernelFamily family) {
        Objects.requireNonNull(family, "family");
        if (family == KernelFamily.GOLDEN) {
            return GoldenSet.bundled().conformanceCases();
        }
        return all().stream().filter(c -> c.family() == family).toList();
    }
}
