package dev.based4j;

import dev.based4j.featuremap.FeatureMap;
import dev.based4j.tensor.DType;
import java.util.EnumSet;
import java.util.Set;

/**
 * What a backend computes. Anything left out is refused with {@link UnsupportedOperationException} and reported
 * as skipped, never passed, by the conformance suite.
 *
 * @param precisions element types it computes in
 * @param operations kernel families it implements
 * @param featureMaps feature maps its attention kernels accept
 * @param reducedPrecision whether it stores or multiplies in bf16/fp16 (then held to 2e-2)
 */
public record Capabilities(
        Set<DType> precisions, Set<Operation> operations, Set<FeatureMap.Kind> featureMaps, boolean reducedPrecision) {
    /** Copies the sets. */
    public Capabilities {
        precisions = Set.copyOf(precisions);
        operations = Set.copyOf(operations);
        featureMaps = Set.copyOf(featureMaps);
    }

    /** Every operation and feature map in the given precisions. */
    public static Capabilities everything(Set<DType> precisions) {
        return new Capabilities(precisions, EnumSet.allOf(Operation.class), EnumSet.allOf(FeatureMap.Kind.class), false);
    }

    /** @return whether {@code op} runs in {@code dtype} */
    public boolean supports(Operation op, DType dtype) {
        return operations.contains(op) && precisions.contains(dtype);
    }

    /** @return whether attention kernels accept {@code map} */
    public boolean supports(FeatureMap map) {
        return featureMaps.contains(map.kind());
    }

    /** @return whether whole models run: every operation of a BASED block */
    public boolean runsModels() {
        return operations.containsAll(EnumSet.of(Operation.LINEAR_ATTENTION, Operation.SLIDING_WINDOW,
                Operation.CAUSAL_CONV, Operation.PLUMBING)) && featureMaps.contains(FeatureMap.Kind.TAYLOR);
    }
}
