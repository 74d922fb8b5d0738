package dev.based4j.spi;

import dev.based4j.Backend;
import dev.based4j.Allocations;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

class AllocationAccountingTest {

    @Test
    void countsLiveTensorsAndBytesUntilTheyAreClosed() {
        try (HostMemoryBackend b = new HostMemoryBackend(false)) {
            Tensor x = b.allocate(Shape.of(2, 3), DType.F64);
            Tensor y = b.allocate(Shape.of(4), DType.F64);
            assertThat(b.allocations()).as("after two allocations")
                    .isEqualTo(new Allocations(true, 2, (6 + 4) * 8, 2, 0));
            x.close();
            y.close();
            x.close();
            assertThat(b.allocations()).as("after closing both (one twice)")
                    .isEqualTo(new Allocations(true, 0, 0, 2, 0));
            assertThat(b.freed.get()).as("free actions run").isEqualTo(2);
        }
    }

    @Test
    void closingTheBackendFreesWhatIsStillOpenExactlyOnce() {
        HostMemoryBackend b = new HostMemoryBackend(false);
        Tensor open = b.allocate(Shape.of(8), DType.F64);
        Tensor closed = b.allocate(Shape.of(8), DType.F64);
        closed.close();
        b.close();
        assertThat(open.isClosed()).as("a tensor freed by the backend's close reads as closed").isTrue();
        assertThat(b.freed.get()).as("free actions run in all").isEqualTo(2);
        assertThat(b.allocations().liveHandles()).isZero();
        open.close();
        assertThat(b.freed.get()).as("closing it afterwards frees nothing twice").isEqualTo(2);
        assertThatThrownBy(() -> b.download(open)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void aTensorCollectedWithoutCloseIsFreedByTheCleanerAndReportedOnce() throws InterruptedException {
        try (HostMemoryBackend b = new HostMemoryBackend(false)) {
            for (int i = 0; i < 50; i++) {
                b.allocate(Shape.of(1024), DType.F64); // dropped on purpose
            }
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (b.allocations().leakedHandles() < 50 && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
            }
            assertThat(b.allocations().leakedHandles()).as("tensors freed by the cleaner").isEqualTo(50);
            assertThat(b.allocations().liveHandles()).as("live tensors after the cleaner ran").isZero();
            assertThat(b.freed.get()).as("free actions run").isEqualTo(50);
            assertThat(b.ledger().leakWarnings()).as("warnings logged for 50 leaked tensors of one backend")
                    .containsExactly("backend host-memory-test: HostMemoryTensor[f64 [1024]] was garbage-collected"
                            + " without close(); the cleaner freed its 8192 bytes. Close tensors and states when done"
                            + " (try-with-resources). Reported once per backend; Backend.allocations().leakedHandles()"
                            + " counts every such tensor.");
        }
    }

    @Test
    void aBackendThatIsNotAnAbstractBackendReportsUntracked() {
        Backend plain = java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(),
                new Class<?>[] {Backend.class}, (proxy, m, args) -> {
                    if (m.isDefault()) {
                        return java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, args);
                    }
                    throw new UnsupportedOperationException(m.getName());
                }) instanceof Backend bk ? bk : null;
        assertThat(plain.allocations()).isEqualTo(Allocations.untracked());
        assertThat(plain.allocations().tracked()).isFalse();
    }

    /** A tensor written against the older constructor, freeing in release(). */
    static final class LegacyTensor extends AbstractTensor {
        final int[] released;

        LegacyTensor(Backend b, int[] released) {
            super(Shape.of(3), DType.F64, b);
            this.released = released;
        }

        @Override
        protected void release() {
            released[0]++;
        }
    }

    @Test
    void tensorsOfTheOlderKindAreCountedAndReleasedOnce() {
        try (HostMemoryBackend b = new HostMemoryBackend(false)) {
            int[] released = new int[1];
            LegacyTensor t = new LegacyTensor(b, released);
            assertThat(b.allocations().liveBytes()).isEqualTo(24);
            t.close();
            t.close();
            assertThat(released[0]).isEqualTo(1);
            assertThat(b.allocations().liveHandles()).isZero();
        }
    }

    @Test
    void aConstructorThatFailsStillRunsTheFreeAction() {
        try (HostMemoryBackend b = new HostMemoryBackend(false)) {
            int[] freed = new int[1];
            assertThatThrownBy(() -> new AbstractTensor(Shape.of(2), DType.F64, b, -1, () -> freed[0]++) {})
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("nativeBytes:");
            assertThat(freed[0]).isEqualTo(1);
            assertThat(b.allocations().liveHandles()).isZero();
        }
    }
}
