package dev.based4j.internal;

import dev.based4j.Backend;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.Engine;
import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.spi.Memory;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A test double of an engine on host memory, for the backend's own tests: F64 only; a feature map that copies its
 * input (not the real math: only its reads and writes matter here), element-wise add, and a linear-attention
 * "decode" that adds 1 to every element of the state and of {@code out}. A hook runs inside that decode, after the
 * state was written, so tests can block or fail there.
 */
final class HostMemoryEngine {
    final AtomicInteger freed = new AtomicInteger();
    final AtomicInteger allocated = new AtomicInteger();
    volatile Consumer<String> insideDecode = where -> {};

    /** A backend over this engine; kernels leave states half-written on failure unless {@code survive}. */
    Backend backend(boolean survive, boolean deviceCopy) {
        return engine(survive, deviceCopy).open("host-memory-test");
    }

    Engine<MemorySegment> engine(boolean survive, boolean deviceCopy) {
        Engine.Builder<MemorySegment> b = Engine.builder(memory(), Set.of(DType.F64))
                .device("the test's heap")
                .featureMaps(copyFeatureMap(), EnumSet.allOf(FeatureMap.Kind.class))
                .linearAttention(decodeOnly())
                .plumbing(addOnly())
                .statesSurviveFailures(survive);
        if (deviceCopy) {
            b.copy((src, so, dst, dO, bytes) -> MemorySegment.copy(src, so, dst, dO, bytes));
        }
        return b.build();
    }

    Memory<MemorySegment> memory() {
        return new Memory<>() {
            @Override
            public Allocation<MemorySegment> allocate(Shape shape, DType dtype) {
                Arena arena = Arena.ofShared();
                allocated.incrementAndGet();
                return new Allocation<>(arena.allocate(shape.elementCount() * dtype.byteSize(), 64),
                        shape.elementCount() * dtype.byteSize(), () -> {
                            arena.close();
                            freed.incrementAndGet();
                        });
            }

            @Override
            public Allocation<MemorySegment> upload(HostTensor host) {
                Allocation<MemorySegment> a = allocate(host.shape(), host.dtype());
                MemorySegment.copy(host.segment(), 0, a.buffer(), 0, a.buffer().byteSize());
                return a;
            }

            @Override
            public void download(MemorySegment source, HostTensor destination) {
                MemorySegment.copy(source, 0, destination.segment(), 0, destination.segment().byteSize());
            }
        };
    }

    private static FeatureMapFamily<MemorySegment> copyFeatureMap() {
        return call -> MemorySegment.copy(call.x(), 0, call.out(), 0,
                Math.min(call.x().byteSize(), call.out().byteSize()));
    }

    private LinearAttentionFamily<MemorySegment> decodeOnly() {
        return new LinearAttentionFamily<>() {
            @Override
            public void prefill(Call<MemorySegment> call) {
                throw new UnsupportedOperationException("not in this test double");
            }

            @Override
            public void decode(Call<MemorySegment> call) {
                addOne(call.kv());
                addOne(call.z());
                insideDecode.accept("after the state was written");
                addOne(call.out());
            }
        };
    }

    static void addOne(MemorySegment s) {
        for (long i = 0; i < s.byteSize() / 8; i++) {
            s.setAtIndex(ValueLayout.JAVA_DOUBLE, i, s.getAtIndex(ValueLayout.JAVA_DOUBLE, i) + 1);
        }
    }

    private static PlumbingFamily<MemorySegment> addOnly() {
        return new PlumbingFamily<>() {
            @Override
            public void add(BinaryCall<MemorySegment> c) {
                for (long i = 0; i < c.elements(); i++) {
                    c.out().setAtIndex(ValueLayout.JAVA_DOUBLE, i, c.a().getAtIndex(ValueLayout.JAVA_DOUBLE, i)
                            + c.b().getAtIndex(ValueLayout.JAVA_DOUBLE, i));
                }
            }

            private UnsupportedOperationException notHere() {
                return new UnsupportedOperationException("not in this test double");
            }

            @Override
            public void linear(LinearCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void rmsNorm(NormCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void silu(UnaryCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void gelu(UnaryCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void multiply(BinaryCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void embedding(EmbeddingCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void rotary(RotaryCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void splitHeads(HeadsCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void mergeHeads(HeadsCall<MemorySegment> call) {
                throw notHere();
            }

            @Override
            public void slice(SliceCall<MemorySegment> call) {
                throw notHere();
            }
        };
    }
}
