package dev.based4j;

import dev.based4j.featuremap.FeatureMap;
import dev.based4j.tensor.DType;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * What a backend computes, derived from the kernel families its engine supplies (never declared apart from them).
 * Anything left out is refused with {@link UnsupportedOperationException} and reported as skipped, never passed, by
 * the conformance suite.
 *
 * @param precisions element types it computes in
 * @param operations kernel families it supplies
 * @param featureMaps for each supplied family that takes a feature map ({@link Operation#FEATURE_MAP},
 *     {@link Operation#LINEAR_ATTENTION}, {@link Operation#BASED_ATTENTION}), the maps it accepts
 * @param weightTypes the storage types its {@link Operation#PLUMBING} takes for the weights of {@code linear} and the
 *     tables of {@code embedding} (always its precisions; {@link DType#BF16}, {@link DType#F16} and {@link DType#I8}
 *     where it supplies them); empty without plumbing
 * @param copiesRows whether it copies memory on the device ({@link Backend#copyRows}, which batched decode steps of
 *     independent sequences need)
 */
public record Capabilities(Set<DType> precisions, Set<Operation> operations,
        Map<Operation, Set<FeatureMap.Kind>> featureMaps, Set<DType> weightTypes, boolean copiesRows) {
    /**
     * Copies the collections; a feature-map entry for an operation that is not supplied is dropped.
     *
     * @throws IllegalArgumentException when a collection is null
     */
    public Capabilities {
        if (precisions == null || operations == null || featureMaps == null || weightTypes == null) {
            throw new IllegalArgumentException("precisions, operations, featureMaps, weightTypes: expected collections,"
                    + " got " + precisions + ", " + operations + ", " + featureMaps + ", " + weightTypes);
        }
        precisions = Set.copyOf(precisions);
        weightTypes = operations.contains(Operation.PLUMBING) ? Set.copyOf(weightTypes) : Set.of();
        operations = Set.copyOf(operations);
        Map<Operation, Set<FeatureMap.Kind>> maps = new EnumMap<>(Operation.class);
        for (var e : featureMaps.entrySet()) {
            if (operations.contains(e.getKey())) {
                maps.put(e.getKey(), Set.copyOf(e.getValue()));
            }
        }
        featureMaps = Map.copyOf(maps);
    }

    /** Every operation and feature map in the given precisions, row copies included. */
    public static Capabilities everything(Set<DType> precisions) {
        Map<Operation, Set<FeatureMap.Kind>> maps = new EnumMap<>(Operation.class);
        for (Operation op : EnumSet.of(Operation.FEATURE_MAP, Operation.LINEAR_ATTENTION, Operation.BASED_ATTENTION)) {
            maps.put(op, EnumSet.allOf(FeatureMap.Kind.class));
        }
        return new Capabilities(precisions, EnumSet.allOf(Operation.class), maps, precisions, true);
    }

    /** @return whether {@code op} runs in {@code dtype} */
    public boolean supports(Operation op, DType dtype) {
        return operations.contains(op) && precisions.contains(dtype);
    }

    /**
     * @return whether {@code op} is supplied and accepts {@code map} (for an operation that takes no feature map:
     *     whether it is supplied)
     */
    public boolean supports(Operation op, FeatureMap map) {
        if (!operations.contains(op)) {
            return false;
        }
        Set<FeatureMap.Kind> kinds = featureMaps.get(op);
        return kinds == null || kinds.contains(map.kind());
    }

    /** @return the feature maps {@code op} accepts (empty when it is not supplied or takes none) */
    public Set<FeatureMap.Kind> featureMapsOf(Operation op) {
        return featureMaps.getOrDefault(op, Set.of());
    }

    /** @return whether {@code linear} and {@code embedding} take weights stored as {@code type} */
    public boolean takesWeights(DType type) {
        return weightTypes.contains(type);
    }

    /** @return whether whole models run: every operation of a BASED block, with the Taylor map */
    public boolean runsModels() {
        return operations.containsAll(EnumSet.of(Operation.LINEAR_ATTENTION, Operation.SLIDING_WINDOW,
                Operation.CAUSAL_CONV, Operation.PLUMBING))
                && featureMapsOf(Operation.LINEAR_ATTENTION).contains(FeatureMap.Kind.TAYLOR);
    }
}
