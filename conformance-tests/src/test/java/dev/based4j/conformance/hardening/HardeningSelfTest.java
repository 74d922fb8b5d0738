package dev.based4j.conformance.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.conformance.testing.ReferenceBackend;
import dev.based4j.Backend;
import dev.based4j.tensor.Tensor;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The harnesses pass a correct backend and catch backends that break one rule each. */
class HardeningSelfTest {

    /** Silu allocates scratch it never frees. */
    static final class LeaksScratch extends ReferenceBackend {
        @Override
        protected void computeSilu(Tensor x, Tensor out) {
            allocate(x.shape(), x.dtype());
            super.computeSilu(x, out);
        }
    }

    /** The matrix multiply drifts from its second call on, as a buffer overrun into a constant would. */
    static final class DriftsAfterManyCalls extends ReferenceBackend {
        private final AtomicLong calls = new AtomicLong();

        @Override
        protected void computeLinear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
            super.computeLinear(x, weight, bias, out);
            if (calls.incrementAndGet() > 1) {
                double[] y = get(out);
                y[0] += 1e-3;
                put(out, y);
            }
        }
    }

    @Nested
    class ACorrectBackend {
        @Test
        void passesEveryHarness() throws Exception {
            try (Backend b = new ReferenceBackend()) {
                InvalidCallFuzzer.Report fuzz = InvalidCallFuzzer.run(b, ReferenceBackend::new, 1, 600, 200,
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
            try (Backend b = new LeaksScratch()) {
                LeakCheck.Report r = LeakCheck.run(b, 600, 10, 1);
                assertThat(r.passed()).isFalse();
                assertThat(r.leakedHandles()).as(r.summary()).isPositive();
            }
        }

        @Test
        void thatDriftsFailsTheFuzzersSentinel() {
            try (Backend b = new DriftsAfterManyCalls()) {
                InvalidCallFuzzer.Report r = InvalidCallFuzzer.run(b, ReferenceBackend::new, 1, 200, 100,
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
