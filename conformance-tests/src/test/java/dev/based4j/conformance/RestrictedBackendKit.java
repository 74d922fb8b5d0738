package dev.based4j.conformance;

import dev.based4j.conformance.testing.ReferenceBackend;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.tensor.DType;
import java.util.EnumSet;

/**
 * The kit on a backend that declares F64 only, no fused attention and no CosFormer. Run by {@link KitSelfTest}
 * through the JUnit test kit; its name keeps surefire from running it directly.
 */
class RestrictedBackendKit extends BackendConformanceKit {
    @Override
    protected Backend createBackend() {
        return new ReferenceBackend().backend("reference", EnumSet.of(DType.F64),
                EnumSet.complementOf(EnumSet.of(Operation.BASED_ATTENTION)),
                EnumSet.complementOf(EnumSet.of(FeatureMap.Kind.COSFORMER)));
    }
}
