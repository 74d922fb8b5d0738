package dev.based4j.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Allocations;
import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Taylor;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.Engine;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Modifier;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The backend based4j makes from an engine: derived capabilities, guards, accounting and state backups. */
class KernelBackendTest {
    private static final LinearAttentionSpec SPEC = LinearAttentionSpec.of(new Taylor(2));
    private static final int D = new Taylor(2).outputDim();

    private record Call(Tensor q, Tensor k, Tensor v, Tensor out, LinearAttentionState state) {
        static Call on(Backend b) {
            Shape qs = Shape.of(1, 1, 1, 2);
            return new Call(b.allocate(qs, DType.F64), b.allocate(qs, DType.F64), b.allocate(qs, DType.F64),
                    b.allocate(qs, DType.F64), LinearAttentionState.zeros(b, 1, 1, D, 2, DType.F64));
        }

        void decode(Backend b, Tensor into) {
            b.linearAttentionDecode(SPEC, q, k, v, state, into);
        }
    }

    @Nested
    class Capabilities {
        @Test
        void areWhatTheEngineSupplies() {
            HostMemoryEngine e = new HostMemoryEngine();
            Engine<MemorySegment> onlyLinear = e.engine(false, false).toBuilder().withoutFamilies()
                    .linearAttention(e.engine(false, false).linearAttention().orElseThrow(),
                            EnumSet.of(FeatureMap.Kind.TAYLOR))
                    .build();
            try (Backend b = onlyLinear.open("subset")) {
                assertThat(b.capabilities().operations()).containsExactly(Operation.LINEAR_ATTENTION);
                assertThat(b.capabilities().featureMapsOf(Operation.LINEAR_ATTENTION))
                        .containsExactly(FeatureMap.Kind.TAYLOR);
                assertThat(b.capabilities().precisions()).containsExactly(DType.F64);
                Tensor x = b.allocate(Shape.of(1, 2), DType.F64);
                assertThatThrownBy(() -> b.featureMap(new Taylor(2), x))
                        .isInstanceOf(UnsupportedOperationException.class)
                        .hasMessage("feature_map: not implemented by backend subset");
                assertThatThrownBy(() -> b.allocate(Shape.of(1), DType.F32))
                        .isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageStartingWith("dtype: backend subset does not compute in f32");
            }
        }

        @Test
        void refuseAFeatureMapTheFamilyDoesNotAccept() {
            HostMemoryEngine e = new HostMemoryEngine();
            Engine<MemorySegment> taylorOnly = e.engine(false, false).toBuilder()
                    .linearAttention(e.engine(false, false).linearAttention().orElseThrow(),
                            EnumSet.of(FeatureMap.Kind.RELU))
                    .build();
            try (Backend b = taylorOnly.open("relu-only")) {
                Call c = Call.on(b);
                assertThatThrownBy(() -> c.decode(b, c.out)).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessage("featureMap: taylor is not implemented by backend relu-only for linear_attention");
            }
        }
    }

    @Nested
    class OneWriterPerTensor {
        @Test
        void aSecondThreadWritingTheSameStateIsRefusedNamingIt() throws Exception {
            HostMemoryEngine e = new HostMemoryEngine();
            try (Backend b = e.backend(false, true)) {
                Call c = Call.on(b);
                Tensor otherOut = b.allocate(c.out.shape(), DType.F64);
                CountDownLatch inside = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                e.insideDecode = where -> {
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
            try (Backend b = new HostMemoryEngine().backend(false, true)) {
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
            HostMemoryEngine e = new HostMemoryEngine();
            Backend b = e.backend(false, true);
            Call c = Call.on(b);
            CountDownLatch inside = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            e.insideDecode = where -> {
                inside.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException ex) {
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
                assertThat(e.freed.get()).as("tensors freed under the running kernel").isZero();
                release.countDown();
                kernel.get(10, TimeUnit.SECONDS);
                closing.get(10, TimeUnit.SECONDS);
                assertThat(b.allocations().liveHandles()).isZero();
                assertThat(e.freed.get()).as("every allocation freed").isEqualTo(e.allocated.get());
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
        void leaveTheStateAndItsPositionAsTheyWereWithADeviceCopy() {
            leaveTheStateAsItWas(true);
        }

        @Test
        void leaveTheStateAsItWasWithoutAnyFamilyForTheBackupEvenWithoutADeviceCopy() {
            leaveTheStateAsItWas(false);
        }

        private void leaveTheStateAsItWas(boolean deviceCopy) {
            HostMemoryEngine e = new HostMemoryEngine();
            Engine<MemorySegment> engine = e.engine(false, deviceCopy).toBuilder().withoutFamilies()
                    .linearAttention(e.engine(false, false).linearAttention().orElseThrow()).build();
            try (Backend b = engine.open("linear-only")) {
                Call c = Call.on(b);
                c.decode(b, c.out);
                e.insideDecode = where -> {
                    throw new IllegalStateException("device error " + where);
                };
                assertThatThrownBy(() -> c.decode(b, c.out)).isInstanceOf(IllegalStateException.class)
                        .hasMessage("device error after the state was written");
                assertThat(c.state.position()).isEqualTo(1);
                assertThat(b.download(c.state.kv()).toDoubleArray()).as("kv restored").containsOnly(1.0);
                assertThat(b.download(c.state.z()).toDoubleArray()).as("z restored").containsOnly(1.0);
                e.insideDecode = where -> {};
                c.decode(b, c.out);
                assertThat(b.download(c.state.z()).toDoubleArray()).as("usable afterwards").containsOnly(2.0);
            }
            assertThat(e.freed.get()).as("the failed memory and every backup freed").isEqualTo(e.allocated.get());
        }

        @Test
        void aDecoratedFamilyThatFailsAfterComputingExercisesTheRestoreOfAnEngineThatNeedsNone() {
            HostMemoryEngine e = new HostMemoryEngine();
            Engine<MemorySegment> safe = e.engine(true, true);
            LinearAttentionFamily<MemorySegment> real = safe.linearAttention().orElseThrow();
            Engine<MemorySegment> failing = safe.toBuilder().statesSurviveFailures(false)
                    .linearAttention(new LinearAttentionFamily<>() {
                        @Override
                        public void prefill(LinearAttentionFamily.Call<MemorySegment> call) {
                            real.prefill(call);
                        }

                        @Override
                        public void decode(LinearAttentionFamily.Call<MemorySegment> call) {
                            real.decode(call);
                            throw new IllegalStateException("injected fault after computing");
                        }
                    }).build();
            try (Backend b = failing.open("faulty")) {
                Call c = Call.on(b);
                assertThatThrownBy(() -> c.decode(b, c.out)).hasMessage("injected fault after computing");
                assertThat(c.state.position()).isZero();
                assertThat(b.download(c.state.kv()).toDoubleArray()).containsOnly(0.0);
            }
        }

        @Test
        void backupsAreReusedCountedAndFreedWithTheBackend() {
            HostMemoryEngine e = new HostMemoryEngine();
            Backend b = e.backend(false, true);
            Call c = Call.on(b);
            Allocations before = b.allocations();
            for (int i = 0; i < 100; i++) {
                c.decode(b, c.out);
            }
            long stateBytes = c.state.sizeInBytes();
            assertThat(b.allocations().liveBytes() - before.liveBytes()).as("one backup of kv and z kept for reuse")
                    .isEqualTo(stateBytes);
            assertThat(b.allocations().liveHandles()).as("backups are not tensors").isEqualTo(before.liveHandles());
            assertThat(e.allocated.get() - before.allocatedHandles()).as("backups allocated once, then reused")
                    .isEqualTo(2);
            b.close();
            assertThat(b.allocations().liveBytes()).isZero();
            assertThat(e.freed.get()).isEqualTo(e.allocated.get());
        }
    }

    @Nested
    class Accounting {
        @Test
        void countsLiveTensorsAndBytesUntilTheyAreClosed() {
            HostMemoryEngine e = new HostMemoryEngine();
            try (Backend b = e.backend(false, true)) {
                Tensor x = b.allocate(Shape.of(2, 3), DType.F64);
                Tensor y = b.allocate(Shape.of(4), DType.F64);
                assertThat(b.allocations()).as("after two allocations")
                        .isEqualTo(new Allocations(true, 2, (6 + 4) * 8, 2, 0));
                x.close();
                y.close();
                x.close();
                assertThat(b.allocations()).as("after closing both (one twice)")
                        .isEqualTo(new Allocations(true, 0, 0, 2, 0));
                assertThat(e.freed.get()).as("free actions run").isEqualTo(2);
            }
        }

        @Test
        void closingTheBackendFreesWhatIsStillOpenExactlyOnce() {
            HostMemoryEngine e = new HostMemoryEngine();
            Backend b = e.backend(false, true);
            Tensor open = b.allocate(Shape.of(8), DType.F64);
            Tensor closed = b.allocate(Shape.of(8), DType.F64);
            closed.close();
            b.close();
            assertThat(open.isClosed()).as("a tensor freed by the backend's close reads as closed").isTrue();
            assertThat(e.freed.get()).as("free actions run in all").isEqualTo(2);
            assertThat(b.allocations().liveHandles()).isZero();
            open.close();
            assertThat(e.freed.get()).as("closing it afterwards frees nothing twice").isEqualTo(2);
            assertThatThrownBy(() -> b.download(open)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }

        @Test
        void aTensorCollectedWithoutCloseIsFreedByTheCleanerAndReportedOnce() throws InterruptedException {
            HostMemoryEngine e = new HostMemoryEngine();
            try (Backend b = e.backend(false, true)) {
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
                assertThat(e.freed.get()).as("free actions run").isEqualTo(50);
                assertThat(((KernelBackend<?>) b).ledger().leakWarnings())
                        .as("warnings logged for 50 leaked tensors of one backend")
                        .containsExactly("backend host-memory-test: host-memory-test tensor[f64 [1024]] was"
                                + " garbage-collected without close(); the cleaner freed its 8192 bytes. Close tensors"
                                + " and states when done (try-with-resources). Reported once per backend;"
                                + " Backend.allocations().leakedHandles() counts every such tensor.");
            }
        }

        @Test
        void anAllocationThatFailsValidationStillRunsItsFreeAction() {
            int[] freed = new int[1];
            assertThatThrownBy(() -> new Allocation<>(new Object(), -1, () -> freed[0]++))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("nativeBytes:");
            assertThat(freed[0]).isEqualTo(1);
        }

        @Test
        void aTensorOfAnotherBackendIsRefusedNamingBoth() {
            HostMemoryEngine e = new HostMemoryEngine();
            try (Backend a = e.backend(false, true); Backend b = e.engine(false, true).open("other")) {
                Tensor x = a.allocate(Shape.of(2), DType.F64);
                Tensor out = b.allocate(Shape.of(2), DType.F64);
                assertThatThrownBy(() -> b.add(x, out, out)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageStartingWith("a: expected a tensor of backend other")
                        .hasMessageContaining("of backend host-memory-test");
            }
        }
    }

    @Nested
    class ExecutionPlans {
        @Test
        void threadsRecordPlansOfTheirOwnAtTheSameTimeEachCapturingOnlyItsOwnCalls() throws Exception {
            try (Backend b = new HostMemoryEngine().backend(true, false)) {
                Call first = Call.on(b);
                Call second = Call.on(b);
                CountDownLatch firstRecording = new CountDownLatch(1);
                CountDownLatch secondDone = new CountDownLatch(1);
                ExecutorService pool = Executors.newSingleThreadExecutor();
                try {
                    Future<Plans.Recording> a = pool.submit(() -> Plans.record(b, () -> {
                        first.decode(b, first.out);
                        firstRecording.countDown();
                        await(secondDone);
                    }));
                    assertThat(firstRecording.await(10, TimeUnit.SECONDS)).isTrue();
                    Plans.Recording planOfSecond = Plans.record(b, () -> second.decode(b, second.out));
                    // an eager call on this thread while the other thread records stays out of its plan
                    second.decode(b, second.out);
                    secondDone.countDown();
                    try (Plans.Recording planOfFirst = a.get(10, TimeUnit.SECONDS); planOfSecond) {
                        assertThat(first.state.position()).isEqualTo(1);
                        assertThat(second.state.position()).isEqualTo(2);
                        planOfFirst.replay(1);
                        assertThat(first.state.position()).as("the first state after its plan's replay")
                                .isEqualTo(2);
                        assertThat(second.state.position()).as("the second state, in no replayed plan")
                                .isEqualTo(2);
                        planOfSecond.replay(2);
                        assertThat(second.state.position()).isEqualTo(3);
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
        }

        @Test
        void aPlanMadeWhileTheSameThreadRecordsAnotherIsRefusedNamingTheThread() {
            try (Backend b = new HostMemoryEngine().backend(true, false)) {
                Call c = Call.on(b);
                assertThatThrownBy(() -> Plans.record(b, () -> Plans.record(b, () -> c.decode(b, c.out))))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("already recording a plan on thread '" + Thread.currentThread().getName());
            }
        }

        private static void await(CountDownLatch l) {
            try {
                if (!l.await(10, TimeUnit.SECONDS)) {
                    throw new AssertionError("latch not released within 10 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Nested
    class StatePositions {
        @Test
        void areAdvancedByKernelsOnly() throws Exception {
            var advance = LinearAttentionState.class.getDeclaredMethod("advance", long.class);
            assertThat(Modifier.isPublic(advance.getModifiers())).as("LinearAttentionState.advance is public")
                    .isFalse();
            try (Backend b = new HostMemoryEngine().backend(true, false)) {
                Call c = Call.on(b);
                c.decode(b, c.out);
                c.decode(b, c.out);
                assertThat(c.state.position()).isEqualTo(2);
            }
        }
    }

    @Test
    void engineRequiresMemoryAndPrecisions() {
        assertThatThrownBy(() -> Engine.builder(null, Set.of(DType.F32)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("memory:");
        assertThatThrownBy(() -> Engine.builder(new HostMemoryEngine().memory(), Set.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("precisions:");
    }
}
