package dev.based4j.conformance;

import dev.based4j.featuremap.FeatureMap;
import dev.based4j.Capabilities;
import dev.based4j.Operation;
import dev.based4j.tensor.DType;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What a case needs from a backend's {@link Capabilities}: operations, a precision, feature maps, whole models, or
 * a weight storage type ({@code weights}, null for none beyond the precision).
 */
record Requirement(Set<Operation> operations, DType dtype, Set<FeatureMap.Kind> featureMaps, boolean models,
        DType weights) {
    /** The families whose calls take a feature map. */
    private static final Set<Operation> MAP_OPERATIONS =
            EnumSet.of(Operation.FEATURE_MAP, Operation.LINEAR_ATTENTION, Operation.BASED_ATTENTION);

    Requirement {
        operations = operations.isEmpty() ? EnumSet.noneOf(Operation.class) : EnumSet.copyOf(operations);
        featureMaps = featureMaps.isEmpty() ? EnumSet.noneOf(FeatureMap.Kind.class) : EnumSet.copyOf(featureMaps);
    }

    /** Builds the requirement of a case for one precision. */
    @FunctionalInterface
    interface Factory {
        Requirement of(DType dtype);
    }

    static Factory needs(Operation... ops) {
        return t -> of(t, ops);
    }

    static Factory needs(FeatureMap map, Operation... ops) {
        return t -> of(t, ops).with(map);
    }

    static Requirement of(DType dtype, Operation... ops) {
        return new Requirement(Set.of(ops), dtype, Set.of(), false, null);
    }

    Requirement with(FeatureMap... maps) {
        Set<FeatureMap.Kind> kinds = featureMaps.isEmpty() ? EnumSet.noneOf(FeatureMap.Kind.class)
                : EnumSet.copyOf(featureMaps);
        for (FeatureMap m : maps) {
            kinds.add(m.kind());
        }
        return new Requirement(operations, dtype, kinds, models, weights);
    }

    Requirement withModels() {
        return new Requirement(operations, dtype, featureMaps, true, weights);
    }

    /** @return this requirement, and that {@code linear} and {@code embedding} take weights stored as {@code type} */
    Requirement withWeights(DType type) {
        return new Requirement(operations, dtype, featureMaps, models, type);
    }

    /** @return why the backend cannot run the case, or empty when it can */
    Optional<String> missingFrom(String backend, Capabilities caps) {
        if (!caps.precisions().contains(dtype)) {
            return Optional.of("backend " + backend + " does not compute in " + dtype.label() + " (capabilities: "
                    + caps.precisions().stream().map(DType::label).sorted().toList() + ")");
        }
        List<String> ops = operations.stream().filter(o -> !caps.operations().contains(o))
                .map(o -> o.name().toLowerCase(Locale.ROOT)).toList();
        if (!ops.isEmpty()) {
            return Optional.of("backend " + backend + " does not supply the kernel famil"
                    + (ops.size() > 1 ? "ies " : "y ") + String.join(", ", ops));
        }
        for (Operation op : operations) {
            if (!MAP_OPERATIONS.contains(op)) {
                continue;
            }
            List<String> maps = featureMaps.stream().filter(k -> !caps.featureMapsOf(op).contains(k))
                    .map(FeatureMap.Kind::label).toList();
            if (!maps.isEmpty()) {
                return Optional.of("backend " + backend + " does not supply feature map" + (maps.size() > 1 ? "s " : " ")
                        + String.join(", ", maps) + " for " + op.name().toLowerCase(Locale.ROOT));
            }
        }
        if (weights != null && !caps.takesWeights(weights)) {
            return Optional.of("backend " + backend + " does not take " + weights.label() + " weights (its linear and"
                    + " embedding take " + caps.weightTypes().stream().map(DType::label).sorted().toList() + ")");
        }
        if (models && !caps.runsModels()) {
            return Optional.of("backend " + backend + " does not supply every kernel family of a whole model"
                    + " (linear attention with the Taylor map, sliding window, causal conv, plumbing)");
        }
        return Optional.empty();
    }
}
