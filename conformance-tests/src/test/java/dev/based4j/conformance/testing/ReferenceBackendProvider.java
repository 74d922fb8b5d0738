package dev.based4j.conformance.testing;

import dev.based4j.Availability;
import dev.based4j.Operation;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.util.EnumSet;

/** Registers the {@link ReferenceBackend} test double as backend {@code reference} in this module's tests. */
public final class ReferenceBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "reference";
    }

    @Override
    public int priority() {
        return -100;
    }

    @Override
    public Availability probe() {
        return Availability.usable("host (test double)", EnumSet.copyOf(DType.compute()));
    }

    @Override
    public Engine<?> create() {
        return new ReferenceBackend().engine(EnumSet.copyOf(DType.compute()), EnumSet.allOf(Operation.class),
                EnumSet.allOf(FeatureMap.Kind.class));
    }
}
