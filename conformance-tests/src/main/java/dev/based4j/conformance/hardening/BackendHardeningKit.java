package dev.based4j.conformance.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backend;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The hardening harnesses as a JUnit 5 kit a backend runs in one line, like the conformance kit:
 *
 * <pre>{@code
 * class XyzHardeningTest extends BackendHardeningKit {
 *     @Override protected Backend createBackend() { return Backends.select("xyz"); }
 * }
 * }</pre>
 *
 * Sizes follow {@link HardeningScale#configured()}: reduced in every build, full under {@code -Phardening}. Each
 * test prints its figures on standard output (the lines {@code docs/reliability.md} quotes). Like the conformance
 * kit, it runs what the backend supplies: a check that needs a kernel family the backend does not supply is skipped
 * with the reason (on the console and in the test report), never passed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendHardeningKit {
    private static final long SEED = 0x4A2D_9E11L;
    private Backend backend;

    /** @return a new instance of the backend under test; called once for the class and again for foreign tensors */
    protected abstract Backend createBackend();

    /** @return the scale to run at; {@link HardeningScale#configured()} by default */
    protected HardeningScale scale() {
        return HardeningScale.configured();
    }

    /** @return the instance shared by the class, created on first use */
    protected final synchronized Backend backend() {
        if (backend == null) {
            backend = createBackend();
            assertThat(backend).as("createBackend() returned null").isNotNull();
        }
        return backend;
    }

    /** Ends the test as skipped, with the reason on the console and in the report. */
    private static void skip(String check, String why) {
        System.out.println("[hardening] " + check + ": skipped: " + why);
        Assumptions.abort("skipped: " + why);
    }

    @AfterAll
    final synchronized void closeBackend() {
        if (backend != null) {
            backend.close();
            backend = null;
        }
    }

    @Test
    @Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
    @DisplayName("random invalid calls are refused with a documented exception naming the parameter")
    void invalidCallsAreRefused() {
        HardeningScale s = scale();
        InvalidCallFuzzer.Report r = InvalidCallFuzzer.run(backend(), this::createBackend, SEED, s.fuzzedCalls(),
                s.fuzzBatch(), Duration.ofMinutes(5));
        System.out.println("[hardening] " + r.summary());
        assertThat(r.failures()).as("fuzzing %s with seed %d: %s", r.backend(), r.seed(), r.summary()).isEmpty();
        assertThat(r.calls()).as("invalid calls made").isEqualTo(s.fuzzedCalls());
    }

    @Test
    @Timeout(value = 60, unit = java.util.concurrent.TimeUnit.MINUTES)
    @DisplayName("kernel calls and state save/load cycles leak no handles, bytes or resident memory")
    void nothingLeaks() {
        HardeningScale s = scale();
        LeakCheck.Report r = LeakCheck.run(backend(), s.kernelCalls(), s.saveLoadCycles(), SEED);
        System.out.println("[hardening] " + r.summary());
        assertThat(r.passed()).as("leak check (seed %d): %s", SEED, r.summary()).isTrue();
    }

    @Test
    @Timeout(value = 60, unit = java.util.concurrent.TimeUnit.MINUTES)
    @DisplayName("threads sharing one backend get bit-identical results; a shared state is refused, not corrupted")
    void threadsAreSafe() throws Exception {
        ConcurrencyCheck.cannotRun(backend()).ifPresent(why -> skip("threads", why));
        HardeningScale s = scale();
        ConcurrencyCheck.Report r = ConcurrencyCheck.run(backend(), s.threads(), s.stepsPerThread(), SEED);
        System.out.println("[hardening] " + r.summary());
        assertThat(r.passed()).as("concurrency check (seed %d): %s", SEED, r.summary()).isTrue();
    }

    @Test
    @Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
    @DisplayName("a failing kernel leaves the state unchanged and the backend usable")
    void faultsLeaveStatesUnchanged() {
        FaultCheck.Report r = FaultCheck.run(backend(), SEED);
        System.out.println("[hardening] " + r.summary());
        assertThat(r.problems()).as("fault check (seed %d): %s", SEED, r.summary()).isEmpty();
    }
}
