package dev.based4j.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The base class's guards around kernels: one writer per tensor, and states unchanged by failed kernels. */
class KernelGuardsTest {
    private static final LinearAttentionSpec SPEC = LinearAttentionSpec.of(new Taylor(2));
    private static final int D = new Taylor(2).outputDim();

    private record Call(Tensor q, Tensor k, Tensor v, Tensor out, LinearAttentionState state) {
        static Call on(HostMemoryBackend b) {
            Shape qs = Shape.of(1, 1, 1, 2);
            return new Call(b.allocate(qs, DType.F64), b.allocate(qs, DType.F64), b.allocate(qs, DType.F64),
                    b.allocate(qs, DType.F64), LinearAttentionState.zeros(b, 1, 1, D, 2, DType.F64));
        }

        void decode(HostMemoryBackend b, Tensor into) {
            b.linearAttentionDecode(SPEC, q, k, v, state, into);
        }
    }

    @Nested
    class OneWriterPerTensor {
        @Test
        void aSecondThreadWritingTheSameStateIsRefusedNamingIt() throws Exception {
            try (HostMemoryBackend b = new HostMemoryBackend(false)) {
                Call c = Call.on(b);
                Tensor otherOut = b.allocate(c.out.shape(), DType.F64);
                CountDownLatch inside = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                b.insideDecode = where -> {
                    if (Thread.currentThread().getName().equals("holder")) {
                        inside.countDown();
                        await(release);
                    }
                };
                ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "holder"));
                try {
                    Future<?> holder = pool.submit(() -> c.decode(b, c.out));
                    assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
                    assertThatThrownBy(() -> c.decode(b, otherOut)).isInstanceOf(IllegalStateException.class)
                            .hasMessageStartingWith("state.kv:").hasMessageContaining("'holder'", "one thread at a time");
                    assertThatThrownBy(() -> b.add(c.out, c.out, otherOut))
                            .as("reading the output another thread is writing")
                            .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("a:");
                    release.countDown();
                    holder.get(10, TimeUnit.SECONDS);
                } finally {
                    release.countDown();
                    pool.shutdownNow();
                }
                assertThat(c.state.position()).as("only the first call advanced the state").isEqualTo(1);
                assertThat(b.download(c.state.z()).toDoubleArray()).as("state written once").containsOnly(1.0);
                c.decode(b, otherOut);
                assertThat(c.state.position()).as("the claim was released").isEqualTo(2);
            }
        }

        @Test
        void inPlaceOperationsOnOneThreadStillWork() {
            try (HostMemoryBackend b = new HostMemoryBackend(false)) {
                Tensor x = b.upload(HostTensor.of(new double[] {1, 2}, Shape.of(2)));
                b.add(x, x, x);
                assertThat(b.download(x).toDoubleArray()).containsExactly(2, 4);
            }
        }

        private static void await(CountDownLatch l) {
            try {
                l.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Nested
    class Closing {
        @Test
        void waitsForAKernelRunningOnAnotherThreadAndRefusesLaterCalls() throws Exception {
            HostMemoryBackend b = new HostMemoryBackend(false);
            Call c = Call.on(b);
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            b.insideDecode = where -> {
                inside.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                Future<?> kernel = pool.submit(() -> c.decode(b, c.out));
                assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
                Future<?> closing = pool.submit(b::close);
                Thread.sleep(200);
                assertThat(closing.isDone()).as("close() returned while a kernel was running").isFalse();
                assertThat(b.freed.get()).as("tensors freed under the running kernel").isZero();
                release.countDown();
                kernel.get(10, TimeUnit.SECONDS);
                closing.get(10, TimeUnit.SECONDS);
                assertThat(b.allocations().liveHandles()).isZero();
                assertThatThrownBy(() -> c.decode(b, c.out)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("closed");
            } finally {
                release.countDown();
                pool.shutdownNow();
            }
        }
    }

    @Nested
    class FailedKernels {
        @Test
        void leaveTheStateAndItsPositionAsTheyWere() {
            try (HostMemoryBackend b = new HostMemoryBackend(false)) {
                Call c = Call.on(b);
                c.decode(b, c.out);
                b.insideDecode = where -> {
                    throw new IllegalStateException("device error " + where);
                };
                assertThatThrownBy(() -> c.decode(b, c.out)).isInstanceOf(IllegalStateException.class)
                        .hasMessage("device error after the state was written");
                assertThat(c.state.position()).isEqualTo(1);
                assertThat(b.download(c.state.kv()).toDoubleArray()).as("kv restored").containsOnly(1.0);
                assertThat(b.download(c.state.z()).toDoubleArray()).as("z restored").containsOnly(1.0);
                b.insideDecode = where -> {};
                c.decode(b, c.out);
                assertThat(b.download(c.state.z()).toDoubleArray()).as("usable afterwards").containsOnly(2.0);
            }
        }

        @Test
        void injectedFaultsExerciseTheRestoreEvenWhereKernelsDeclareThemselvesSafe() {
            try (HostMemoryBackend b = new HostMemoryBackend(true)) {
                Call c = Call.on(b);
                b.injectStateKernelFaults(2);
                for (int i = 0; i < 2; i++) {
                    assertThatThrownBy(() -> c.decode(b, c.out)).isInstanceOf(IllegalStateException.class)
                            .hasMessageStartingWith("injected fault: linearAttentionDecode on backend host-memory-test");
                }
                assertThat(c.state.position()).isZero();
                assertThat(b.download(c.state.kv()).toDoubleArray()).containsOnly(0.0);
                c.decode(b, c.out);
                assertThat(c.state.position()).as("faults disarmed after two").isEqualTo(1);
                assertThat(b.download(c.state.kv()).toDoubleArray()).containsOnly(1.0);
            }
        }

        @Test
        void backupsAreReusedAndFreedWithTheBackend() {
            HostMemoryBackend b = new HostMemoryBackend(false);
            Call c = Call.on(b);
            long before = b.allocations().liveHandles();
            for (int i = 0; i < 100; i++) {
                c.decode(b, c.out);
            }
            assertThat(b.allocations().liveHandles() - before).as("backup tensors kept for reuse").isEqualTo(2);
            b.close();
            assertThat(b.allocations().liveHandles()).isZero();
        }
    }
}
