package dev.based4j.onnx.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The memory handle: its size limit, and that native code never sees memory freed or swapped under it. */
class OnnxBufferTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Test
    void isZeroFilledAndSizedForItsElements() {
        OnnxBuffer b = OnnxBuffer.allocate(5, DType.F64);
        try (OnnxBuffer.Lease l = b.lease()) {
            assertThat(l.segment().byteSize()).isEqualTo(40);
            assertThat(l.segment().toArray(ValueLayout.JAVA_DOUBLE)).containsOnly(0.0);
        } finally {
            b.free();
        }
    }

    @Test
    void refusesMoreThanTwoGibibytesWithTheSizeInTheMessage() {
        assertThatThrownBy(() -> OnnxBuffer.allocate(1L << 29, DType.F32))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2147483648 bytes").hasMessageContaining("1..2147483647");
    }

    @Nested
    class Leases {
        @Test
        void keepMemoryAliveWhenTheBufferIsFreedMeanwhile() {
            OnnxBuffer b = OnnxBuffer.allocate(4, DType.F32);
            OnnxBuffer.Lease lease = b.lease();
            b.free();
            // the memory still belongs to the lease: writing it must not fault
            lease.segment().set(F32, 0, 2.5f);
            assertThat(lease.segment().get(F32, 0)).isEqualTo(2.5f);
            MemorySegment seg = lease.segment();
            lease.close();
            assertThat(seg.scope().isAlive()).as("freed once the last lease is closed").isFalse();
        }

        @Test
        void areRefusedOnceTheBufferIsFreed() {
            OnnxBuffer b = OnnxBuffer.allocate(4, DType.F32);
            b.free();
            b.free();
            assertThatThrownBy(b::lease).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("freed and used again");
        }
    }

    @Nested
    class Swaps {
        @Test
        void replaceTheContentsAndFreeTheOldMemoryOnlyWhenNoLeaseHoldsIt() {
            OnnxBuffer b = OnnxBuffer.allocate(2, DType.F32);
            OnnxBuffer.Lease old = b.lease();
            OnnxBuffer.Block next = b.fresh();
            next.byteBuffer().putFloat(0, 7f);
            b.swapIn(next);
            assertThat(old.segment().scope().isAlive()).as("old memory still leased").isTrue();
            try (OnnxBuffer.Lease now = b.lease()) {
                assertThat(now.segment().get(F32, 0)).isEqualTo(7f);
            }
            MemorySegment oldSegment = old.segment();
            old.close();
            assertThat(oldSegment.scope().isAlive()).isFalse();
            b.free();
        }

        @Test
        void intoAFreedBufferFreeTheNewMemoryInstead() {
            OnnxBuffer b = OnnxBuffer.allocate(2, DType.F32);
            b.free();
            OnnxBuffer.Block next = b.fresh();
            b.swapIn(next);
            assertThatThrownBy(b::lease).isInstanceOf(IllegalStateException.class);
        }
    }
}
