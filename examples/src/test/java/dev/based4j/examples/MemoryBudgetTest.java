package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.WeightFormat;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class MemoryBudgetTest {
    private static final MemoryBudget SMALL = new MemoryBudget(1L << 20, 4L << 20, "a test's 4 MiB");

    @Nested
    class Arithmetic {
        @Test
        void aProductThatDoesNotFitALongSaturatesInsteadOfWrappingRound() {
            // 2,000,000,000 * 4 * 2,000,000,000 * 4 wraps to a small positive long in plain arithmetic
            assertThat(MemoryBudget.times(2_000_000_000L, 4, 2_000_000_000L, 4)).isEqualTo(Long.MAX_VALUE);
            assertThat(MemoryBudget.times(1L << 20, 4096, 64, 4)).isEqualTo(1L << 40);
        }

        @Test
        void aZeroFactorGivesZeroEvenBesideAHugeOne() {
            assertThat(MemoryBudget.times(Long.MAX_VALUE, 0, Long.MAX_VALUE)).isZero();
        }

        @Test
        void aSumSaturatesToo() {
            assertThat(MemoryBudget.plus(Long.MAX_VALUE - 1, 2)).isEqualTo(Long.MAX_VALUE);
            assertThat(MemoryBudget.plus(3, 4, 5)).isEqualTo(12);
        }

        @Test
        void negativeFactorsAreRefusedByName() {
            assertThatThrownBy(() -> MemoryBudget.times(4, -1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("factors:");
        }

        @Test
        void sizesPrintInBinaryUnitsAndSaturatedOnesSaySo() {
            assertThat(MemoryBudget.format(512)).isEqualTo("512 bytes");
            assertThat(MemoryBudget.format(3L << 29)).isEqualTo("1.5 GiB");
            assertThat(MemoryBudget.format(Long.MAX_VALUE)).isEqualTo("more than 8 EiB");
        }
    }

    @Nested
    class Check {
        @Test
        void aRunThatFitsPasses() {
            assertThatCode(() -> SMALL.check("--x 1", List.of(MemoryBudget.Need.heap("ids", 1000),
                    MemoryBudget.Need.offHeap("weights", 3L << 20)))).doesNotThrowAnyException();
        }

        @Test
        void aRunBeyondTheNativeBudgetIsRefusedNamingTheSettingTheBytesItsLargestPartAndTheLimit() {
            assertThatThrownBy(() -> SMALL.check("--contexts 1048576 with --batches 4096", List.of(
                    MemoryBudget.Need.offHeap("hidden states", 1L << 40),
                    MemoryBudget.Need.offHeap("weights", 1L << 20))))
                    .isInstanceOf(Based4j.UserError.class)
                    .hasMessageStartingWith("--contexts 1048576 with --batches 4096: needs 1.0 TiB of native memory")
                    .hasMessageContaining("hidden states 1.0 TiB")
                    .hasMessageContaining("is 4.0 MiB")
                    .hasMessageContaining("a test's 4 MiB");
        }

        @Test
        void theHeapIsCheckedOnItsOwnLimit() {
            assertThatThrownBy(() -> SMALL.check("--examples 9", List.of(MemoryBudget.Need.heap("data", 2L << 20),
                    MemoryBudget.Need.offHeap("weights", 1))))
                    .hasMessageContaining("of Java heap").hasMessageContaining("-Xmx");
        }

        @Test
        void aSaturatedNeedIsRefusedAsMoreThanEightExbibytes() {
            assertThatThrownBy(() -> SMALL.check("--d-model 2000000000", List.of(
                    MemoryBudget.Need.offHeap("weights", MemoryBudget.times(2_000_000_000L, 2_000_000_000L, 9, 4)))))
                    .hasMessageContaining("needs more than 8 EiB");
        }
    }

    @Nested
    class NativeSetting {
        @Test
        void sizesAreReadWithBinaryUnits() {
            assertThat(MemoryBudget.parseSize("8g")).isEqualTo(8L << 30);
            assertThat(MemoryBudget.parseSize("512M")).isEqualTo(512L << 20);
            assertThat(MemoryBudget.parseSize("1TiB")).isEqualTo(1L << 40);
            assertThat(MemoryBudget.parseSize("4096")).isEqualTo(4096);
        }

        @Test
        void anythingElseIsRefusedNamingTheProperty() {
            for (String bad : new String[] {"lots", "-1g", "0", "99999999999999999999", "9999999999t"}) {
                assertThatThrownBy(() -> MemoryBudget.parseSize(bad)).as(bad)
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageStartingWith(MemoryBudget.NATIVE_PROPERTY);
            }
        }

        @Test
        void thePropertySetsTheNativeLimit() {
            String before = System.getProperty(MemoryBudget.NATIVE_PROPERTY);
            System.setProperty(MemoryBudget.NATIVE_PROPERTY, "3m");
            try {
                assertThat(MemoryBudget.current().nativeLimit()).isEqualTo(3L << 20);
                assertThat(MemoryBudget.current().heapLimit()).isEqualTo(Runtime.getRuntime().maxMemory());
            } finally {
                if (before == null) {
                    System.clearProperty(MemoryBudget.NATIVE_PROPERTY);
                } else {
                    System.setProperty(MemoryBudget.NATIVE_PROPERTY, before);
                }
            }
        }
    }

    /** The estimates are held to what the stacks really allocate where that is known exactly. */
    @Nested
    class StackEstimates {
        @Test
        void weightsAreExactlyTheBytesOfTheStacksWeights() {
            for (LayerStack.Config config : List.of(BasedModel.stackConfig(BasedConfig.tiny()),
                    Tradeoff.Size.named("small").based(), Tradeoff.Size.named("small").attention(100))) {
                long real = LayerStack.randomWeights(config, 1).values().stream()
                        .mapToLong(t -> t.shape().elementCount() * t.dtype().byteSize()).sum();
                assertThat(StackMemory.weights(config, DType.F32)).as("%s", config).isEqualTo(real);
                assertThat(StackMemory.weights(config, DType.F64)).isEqualTo(2 * real);
            }
        }

        @Test
        void weightsInAReducedFormatAreTheBytesOfTheStoredMatricesAndTheRest() {
            LayerStack.Config config = BasedModel.stackConfig(BasedConfig.tiny());
            for (WeightFormat f : List.of(WeightFormat.BF16, WeightFormat.INT8, WeightFormat.int8(32))) {
                long real = 0;
                for (var e : LayerStack.randomWeights(config, 1).entrySet()) {
                    HostTensor t = e.getValue();
                    real += t.shape().rank() == 2 ? HostWeight.convert(e.getKey(), t, f).byteSize()
                            : t.shape().elementCount() * 4;
                }
                assertThat(StackMemory.weights(config, DType.F32, f)).as("%s", f).isEqualTo(real);
            }
        }

        @Test
        void theStateIsAtLeastWhatTheBackendAllocates() {
            try (Backend cpu = Backends.select("cpu")) {
                for (LayerStack.Config config : List.of(BasedModel.stackConfig(BasedConfig.tiny()),
                        Tradeoff.Size.named("small").based(), Tradeoff.Size.named("small").attention(300))) {
                    try (LayerStack stack = LayerStack.random(cpu, DType.F32, config, 2);
                            LayerStack.State state = stack.newState(3)) {
                        long estimate = StackMemory.state(config, 3, DType.F32);
                        assertThat(estimate).as("%s", config).isGreaterThanOrEqualTo(state.sizeInBytes())
                                .isLessThanOrEqualTo(2 * state.sizeInBytes() + 4096);
                    }
                }
            }
        }

        @Test
        void prefillActivationsGrowWithTheTokensAndHoldTheLogits() {
            LayerStack.Config config = BasedModel.stackConfig(BasedConfig.tiny());
            long one = StackMemory.prefillActivations(config, 1, 1000, DType.F32);
            assertThat(StackMemory.prefillActivations(config, 2, 1000, DType.F32)).isGreaterThanOrEqualTo(2 * one - 1);
            assertThat(one).isGreaterThan(1000L * config.vocabSize() * 4);
            assertThat(StackMemory.prefillActivations(config, 4096, 1L << 40, DType.F64)).isEqualTo(Long.MAX_VALUE);
        }
    }
}
