package dev.based4j.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backends;
import dev.based4j.Settings;
import dev.based4j.conformance.hardening.ConcurrencyCheck;
import dev.based4j.conformance.hardening.FaultCheck;
import dev.based4j.conformance.hardening.HardeningScale;
import dev.based4j.conformance.hardening.InvalidCallFuzzer;
import dev.based4j.conformance.hardening.LeakCheck;
import dev.based4j.Backend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * The conformance kit's hardening harnesses on every backend {@link java.util.ServiceLoader} finds on the class path
 * (cpu, opencl, onnx, onnx-cuda, cuda, and any third-party backend beside them). A backend that cannot run on this
 * machine is reported skipped with its probe's reason. When {@link Settings#BACKEND} names a backend, only that one
 * runs (a machine with a GPU runs {@code -Phardening -Dbased4j.backend=cuda}). The figures go to standard output,
 * one {@code [hardening]} line per harness and backend.
 */
class EveryBackendHardeningTest {
    private static final long SEED = 0x4A2D_9E11L;

    @TestFactory
    @DisplayName("every backend on the class path passes the hardening harnesses")
    Stream<DynamicNode> everyBackend() {
        HardeningScale scale = HardeningScale.configured();
        List<DynamicNode> nodes = new ArrayList<>();
        String only = Settings.BACKEND.value();
        for (Backends.ProviderStatus status : Backends.list()) {
            String name = status.provider().name();
            if (!only.isEmpty() && !only.equals(name)) {
                continue;
            }
            if (!status.availability().usable()) {
                nodes.add(DynamicTest.dynamicTest(name + ": not usable here", () -> Assumptions.abort(
                        name + " skipped: " + status.availability().reason() + " (" + status.availability().fix() + ")")));
                continue;
            }
            nodes.add(DynamicContainer.dynamicContainer(name + " (" + scale.name() + " scale)", Stream.of(
                    test(name, "fuzzed invalid calls are refused, naming the parameter", () -> fuzz(name, scale)),
                    test(name, "kernel calls and save/load cycles leak nothing", () -> leaks(name, scale)),
                    test(name, "threads on one backend match serial bits", () -> threads(name, scale)),
                    test(name, "failing kernels leave states unchanged", () -> faults(name)))));
        }
        return nodes.stream();
    }

    private static DynamicTest test(String backend, String what, Executable body) {
        return DynamicTest.dynamicTest(backend + ": " + what, body);
    }

    private static void fuzz(String name, HardeningScale scale) {
        try (Backend b = Backends.select(name)) {
            InvalidCallFuzzer.Report r = InvalidCallFuzzer.run(b, () -> Backends.select(name), SEED,
                    scale.fuzzedCalls(), scale.fuzzBatch(), Duration.ofMinutes(5));
            System.out.println("[hardening] " + r.summary());
            assertThat(r.failures()).as("fuzzing %s, seed %d", name, SEED).isEmpty();
            assertThat(r.calls()).isEqualTo(scale.fuzzedCalls());
        }
    }

    private static void leaks(String name, HardeningScale scale) {
        try (Backend b = Backends.select(name)) {
            LeakCheck.Report r = LeakCheck.run(b, scale.kernelCalls(), scale.saveLoadCycles(), SEED);
            System.out.println("[hardening] " + r.summary());
            assertThat(r.passed()).as("leak check of %s: %s", name, r.summary()).isTrue();
        }
    }

    private static void threads(String name, HardeningScale scale) throws Exception {
        try (Backend b = Backends.select(name)) {
            ConcurrencyCheck.Report r = ConcurrencyCheck.run(b, scale.threads(), scale.stepsPerThread(), SEED);
            System.out.println("[hardening] " + r.summary());
            assertThat(r.passed()).as("concurrency check of %s: %s", name, r.summary()).isTrue();
        }
    }

    private static void faults(String name) {
        try (Backend b = Backends.select(name)) {
            FaultCheck.Report r = FaultCheck.run(b, SEED);
            System.out.println("[hardening] " + r.summary());
            assertThat(r.problems()).as("fault check of %s: %s", name, r.summary()).isEmpty();
        }
    }
}
