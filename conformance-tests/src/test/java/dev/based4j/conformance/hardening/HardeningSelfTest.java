package dev.based4j.conformance.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.conformance.testing.ReferenceBackend;
import dev.based4j.Backend;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The harnesses pass a correct backend and catch backends that break one rule each. */
class HardeningSelfTest {

    /** Silu allocates a scratch tensor it never frees (kept reachable, so no cleaner frees it either). */
    static final class LeaksScratch extends ReferenceBackend {
        private final List<Tensor> kept = new CopyOnWriteArrayList<>();
        private volatile Backend self;

        @Override
        public Backend backend() {
            self = super.backend();
            return self;
        }

        @Override
        public void silu(UnaryCall<HostTensor> c) {
            kept.add(self.allocate(c.x().shape(), c.dtype()));
            super.silu(c);
        }
    }

    /** The matrix multiply drifts from its second call on, as a buffer overrun into a constant would. */
    static final class DriftsAfterManyCalls extends ReferenceBackend {
        private final AtomicLong calls = new AtomicLong();

        @Override
        public void linear(LinearCall<HostTensor> c) {
            super.linear(c);
            if (calls.incrementAndGet() > 1) {
                double[] y = get(c.out());
                y[0] += 1e-3;
                put(c.out(), y);
            }
        }
    }

    @Nested
    class ACorrectBackend {
        @Test
        void passesEveryHarness() throws Exception {
            try (Backend b = ReferenceBackend.create()) {
                InvalidCallFuzzer.Report fuzz = InvalidCallFuzzer.run(b, ReferenceBackend::create, 1, 600, 200,
                        Duration.ofMinutes(2));
                assertThat(fuzz.failures()).as(fuzz.summary()).isEmpty();
                assertThat(fuzz.byEntryPoint().keySet()).as("entry points reached").hasSizeGreaterThan(30);
                LeakCheck.Report leaks = LeakCheck.run(b, 1_000, 20, 1);
                assertThat(leaks.leakedHandles()).as(leaks.summary()).isZero();
                ConcurrencyCheck.Report threads = ConcurrencyCheck.run(b, 4, 8, 1);
                assertThat(threads.passed()).as(threads.summary()).isTrue();
                FaultCheck.Report faults = FaultCheck.run(b, 1);
                assertThat(faults.problems()).as(faults.summary()).isEmpty();
            }
        }
    }

    @Nested
    class ABrokenBackend {
        @Test
        void thatLeaksScratchFailsTheLeakCheck() {
            try (Backend b = new LeaksScratch().backend()) {
                LeakCheck.Report r = LeakCheck.run(b, 600, 10, 1);
                assertThat(r.passed()).isFalse();
                assertThat(r.leakedHandles()).as(r.summary()).isPositive();
            }
        }

        @Test
        void thatDriftsFailsTheFuzzersSentinel() {
            try (Backend b = new DriftsAfterManyCalls().backend()) {
                InvalidCallFuzzer.Report r = InvalidCallFuzzer.run(b, ReferenceBackend::create, 1, 200, 100,
                        Duration.ofMinutes(2));
                assertThat(r.failures()).as(r.summary()).anyMatch(f -> f.contains("sentinel"));
            }
        }
    }

    @Test
    void aMessageNamesAParameterWhenItStartsWithItOrADottedPathToIt() {
        assertThat(InvalidCallFuzzer.namesOneOf("q: expected shape [1, 2]", Set.of("q"))).isTrue();
        assertThat(InvalidCallFuzzer.namesOneOf("taylor.inputDim: expected 1..256", Set.of("inputDim"))).isTrue();
        assertThat(InvalidCallFuzzer.namesOneOf("state.kv: expected shape", Set.of("state.kv"))).isTrue();
        assertThat(InvalidCallFuzzer.namesOneOf("sequence: expected", Set.of("q"))).isFalse();
        assertThat(InvalidCallFuzzer.namesOneOf(null, Set.of("q"))).isFalse();
    }
}
