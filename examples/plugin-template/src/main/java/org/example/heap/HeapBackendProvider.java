package org.example.heap;

import dev.based4j.Availability;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.spi.BackendProvider;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.Set;

/**
 * The plugin's entry point, found by {@link java.util.ServiceLoader}: backend {@code heap}. It needs nothing but the
 * JVM, so it is always usable; with the default priority (0) it runs only when named.
 */
public final class HeapBackendProvider implements BackendProvider {
    private static final Set<DType> PRECISIONS = EnumSet.of(DType.F32, DType.F64);

    @Override
    public String name() {
        return "heap";
    }

    @Override
    public Availability probe() {
        return Availability.usable("Java heap", PRECISIONS);
    }

    @Override
    public Engine<MemorySegment> create() {
        Set<FeatureMap.Kind> taylor = EnumSet.of(FeatureMap.Kind.TAYLOR);
        return Engine.builder(new HeapMemory(), PRECISIONS)
                .device("Java heap")
                .featureMaps(new HeapTaylorFeatureMap(), taylor)
                .linearAttention(new HeapLinearAttention(), taylor)
                .build();
    }
}
