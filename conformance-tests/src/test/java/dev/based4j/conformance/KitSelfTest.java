package dev.based4j.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectNestedClass;

import dev.based4j.conformance.testing.Mutants;
import dev.based4j.conformance.testing.ReferenceBackend;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/** The kit itself: skipped cases are reported skipped, broken backends fail, names carry the seed. */
class KitSelfTest {

    @Nested
    class Skipping {
        @Test
        void casesTheCapabilitiesLeaveOutAreReportedSkippedNeverPassed() {
            Events tests = EngineTestKit.engine("junit-jupiter").selectors(selectClass(RestrictedBackendKit.class))
                    .execute().testEvents();

            assertThat(tests.failed().count()).as("failed tests").isZero();
            assertThat(names(tests.succeeded())).as("passed tests").isNotEmpty()
                    .noneMatch(n -> n.contains(", f32"))
                    .noneMatch(n -> n.startsWith("fused attention"))
                    .noneMatch(n -> n.contains("cosformer") || n.contains("CosFormer"));
            assertThat(names(tests.aborted())).as("skipped tests")
                    .anyMatch(n -> n.contains(", f32"))
                    .anyMatch(n -> n.startsWith("fused attention"))
                    .anyMatch(n -> n.contains("cosformer"));
            assertThat(tests.aborted().stream().map(e -> e.getPayload(org.junit.platform.engine.TestExecutionResult.class)
                    .flatMap(org.junit.platform.engine.TestExecutionResult::getThrowable).map(Throwable::getMessage)
                    .orElse("")))
                    .as("reasons of the skipped tests")
                    .allMatch(m -> m.startsWith("skipped: "))
                    .anyMatch(m -> m.contains("does not compute in f32"))
                    .anyMatch(m -> m.contains("does not supply the kernel family based_attention"))
                    .anyMatch(m -> m.contains("does not supply feature map cosformer for"));
        }
    }

    @Nested
    class Failing {
        @Test
        void aBrokenKernelFailsItsTestsWithTheErrorAndTheSeed() {
            Events tests = EngineTestKit.engine("junit-jupiter")
                    .selectors(selectNestedClass(List.of(BrokenBackendKit.class), BackendConformanceKit.Plumbing.class))
                    .execute().testEvents();

            assertThat(names(tests.failed())).as("failed tests").isNotEmpty()
                    .allMatch(n -> n.startsWith("gelu"))
                    .allMatch(n -> n.matches(".*, seed \\d+ \\[plumbing/\\d+\\]$"));
            assertThat(tests.succeeded().count()).as("passed tests").isPositive();
        }

        @Test
        void anOutputElementLeftUnwrittenIsFound() {
            List<CaseResult> results = run(new Mutants.LeavesLastOutputUnwritten().backend(), KernelFamily.LINEAR_ATTENTION,
                    c -> c.op().equals("linearAttentionPrefill"));
            assertThat(results).isNotEmpty().allMatch(r -> r.verdict() == Verdict.FAIL)
                    .allMatch(r -> r.message().contains("not written"), "says the element was not written");
        }

        @Test
        void aKernelThatChangesItsInputIsFound() {
            List<CaseResult> results = run(new Mutants.ChangesItsInput().backend(), KernelFamily.PLUMBING,
                    c -> c.op().equals("silu"));
            assertThat(results).hasSize(2).allMatch(r -> r.verdict() == Verdict.FAIL)
                    .allMatch(r -> r.message().contains("input x was changed by the kernel"), "names the input");
        }

        @Test
        void anInaccurateKernelFailsWithItsMeasuredError() {
            List<CaseResult> results = run(new Mutants.ApproximateGelu().backend(), KernelFamily.PLUMBING,
                    c -> c.op().equals("gelu"));
            assertThat(results).hasSize(2).allMatch(r -> r.verdict() == Verdict.FAIL)
                    .allMatch(r -> r.maxRelativeError() > 1e-5 && r.maxRelativeError() > r.tolerance());
        }

        @Test
        void refusingADeclaredOperationIsAFailureNotASkip() {
            List<CaseResult> results = run(new Mutants.RefusesWhatItDeclares().backend(), KernelFamily.CAUSAL_CONV, c -> true);
            assertThat(results).isNotEmpty().allMatch(r -> r.verdict() == Verdict.FAIL)
                    .allMatch(r -> r.message().contains("refused an operation its capabilities declare"));
        }

        @Test
        void decodeThatForgetsTheStateFailsOnlyTheContinuationCases() {
            Backend b = new Mutants.ForgetsTheStateWhenDecoding().backend();
            List<ConformanceCase> cases = Catalogue.of(KernelFamily.LINEAR_ATTENTION);
            for (ConformanceCase c : cases) {
                CaseResult r = c.run(b, () -> new Mutants.ForgetsTheStateWhenDecoding().backend());
                boolean decodes = c.op().contains("Decode") && c.shape().contains("decode steps");
                assertThat(r.verdict()).as("%s: %s", c.displayName(), r.message())
                        .isEqualTo(decodes ? Verdict.FAIL : Verdict.PASS);
            }
        }
    }

    @Nested
    class GoldenComparison {
        @org.junit.jupiter.api.io.TempDir
        java.nio.file.Path dir;

        /** An Identity feature-map case of x = (∞, 1, 4, 9), whose true output is x, expecting {@code expected}. */
        private CaseResult run(double[] expected, DType dtype) throws java.io.IOException {
            java.nio.file.Path c = java.nio.file.Files.createDirectories(dir.resolve("identity_inf"));
            java.nio.file.Files.writeString(c.resolve("case.json"), """
                    {"name": "identity_inf", "op": "feature_map", "byte_order": "little",
                     "config": {"feature_map": "Identity", "input_dim": 4, "temp": 1.0},
                     "tensors": {
                       "x": {"role": "input", "shape": [1, 1, 1, 4], "dtype": "float32", "file": "x.f32"},
                       "phi": {"role": "output", "shape": [1, 1, 1, 4], "dtype": "float32", "file": "phi.f32",
                               "file_f64": "phi.f64"}}}
                    """);
            java.nio.ByteBuffer x = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            java.nio.ByteBuffer f32 = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            java.nio.ByteBuffer f64 = java.nio.ByteBuffer.allocate(32).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (double v : new double[] {Double.POSITIVE_INFINITY, 1, 4, 9}) {
                x.putFloat((float) v);
            }
            for (double v : expected) {
                f32.putFloat((float) v);
                f64.putDouble(v);
            }
            java.nio.file.Files.write(c.resolve("x.f32"), x.array());
            java.nio.file.Files.write(c.resolve("phi.f32"), f32.array());
            java.nio.file.Files.write(c.resolve("phi.f64"), f64.array());
            return GoldenSet.load(c).conformanceCases().stream().filter(k -> k.dtype() == dtype).findFirst()
                    .orElseThrow().run(ReferenceBackend.create(), ReferenceBackend::create);
        }

        @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
        @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F32", "F64"})
        void anInfiniteExpectedValueDoesNotHideItsWrongNeighbours(DType dtype) throws java.io.IOException {
            CaseResult r = run(new double[] {Double.POSITIVE_INFINITY, 777, -555, 1e9}, dtype);
            assertThat(r.verdict()).as(r.message()).isEqualTo(Verdict.FAIL);
            assertThat(r.message()).contains("phi: max relative error");
        }

        @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
        @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F32", "F64"})
        void theTrueValuesWithTheSameInfinityPass(DType dtype) throws java.io.IOException {
            CaseResult r = run(new double[] {Double.POSITIVE_INFINITY, 1, 4, 9}, dtype);
            assertThat(r.verdict()).as(r.message()).isEqualTo(Verdict.PASS);
        }

        @Test
        void anInfiniteExpectedValueMustBeMatchedExactly() throws java.io.IOException {
            CaseResult wrongSign = run(new double[] {Double.NEGATIVE_INFINITY, 1, 4, 9}, DType.F64);
            assertThat(wrongSign.verdict()).as(wrongSign.message()).isEqualTo(Verdict.FAIL);
            assertThat(wrongSign.message()).contains("phi[0] is Infinity, expected exactly -Infinity");
            CaseResult finite = run(new double[] {3e38, 1, 4, 9}, DType.F64);
            assertThat(finite.verdict()).as("an infinite output where a finite value is expected: %s",
                    finite.message()).isEqualTo(Verdict.FAIL);
        }
    }

    @Nested
    class Resuming {
        @Test
        void aStateSavedHereResumesOnEveryOtherBackendServiceLoaderFinds() {
            List<ConformanceCase> cases = Catalogue.of(KernelFamily.STATE_FORMAT).stream()
                    .filter(c -> c.description().endsWith("every other usable backend found by ServiceLoader")).toList();
            assertThat(cases).hasSize(8);
            for (ConformanceCase c : cases) {
                CaseResult twin = c.run(ReferenceBackend.create("twin"), () -> ReferenceBackend.create("twin"));
                assertThat(twin.verdict()).as("%s: %s", c.id(), twin.message()).isEqualTo(Verdict.PASS);
                assertThat(twin.message()).contains("(resumed on reference)");
                CaseResult alone = c.run(ReferenceBackend.create(), ReferenceBackend::create);
                assertThat(alone.verdict()).as("the only backend: %s", alone.message()).isEqualTo(Verdict.SKIP);
                assertThat(alone.message()).startsWith("no other usable backend");
            }
        }
    }

    @Nested
    class Naming {
        @Test
        void everyCaseHasAUniqueIdAndASentenceWithShapeDtypeAndSeed() {
            List<ConformanceCase> all = Catalogue.all();
            assertThat(all).extracting(ConformanceCase::id).doesNotHaveDuplicates();
            assertThat(all).extracting(ConformanceCase::displayName).doesNotHaveDuplicates()
                    .allMatch(n -> n.matches("[a-zA-Z].* — .*, f(32|64), seed \\d+"), "sentence — shape, dtype, seed");
        }

        @Test
        void everyFamilyButGoldenHasCasesInBothPrecisions() {
            for (KernelFamily f : KernelFamily.values()) {
                if (f == KernelFamily.GOLDEN) {
                    continue;
                }
                assertThat(Catalogue.of(f)).as(f.label()).extracting(ConformanceCase::dtype)
                        .contains(DType.F32, DType.F64);
            }
        }

        @Test
        void theCatalogueCoversTheShapesTheIssueAsksFor() {
            List<String> shapes = Catalogue.all().stream().map(c -> c.description() + " " + c.shape()).toList();
            assertThat(shapes)
                    .anyMatch(s -> s.contains("seq 1,"))
                    .anyMatch(s -> s.contains("seq < lookback"))
                    .anyMatch(s -> s.contains("seq = lookback"))
                    .anyMatch(s -> s.contains("seq 37") && s.contains("chunk 16"))
                    .anyMatch(s -> s.contains("batch 2, heads 3"))
                    .anyMatch(s -> s.contains("(quadratic)"))
                    .anyMatch(s -> s.contains("(chunked)"))
                    .anyMatch(s -> s.contains("(recurrent)"));
            for (String map : List.of("taylor", "identity", "relu", "poselu", "square", "cosformer", "performer",
                    "allpoly")) {
                assertThat(shapes).as("linear attention with " + map)
                        .anyMatch(s -> s.startsWith("linear attention prefill with the " + map + " "));
            }
        }
    }

    private static List<CaseResult> run(Backend backend, KernelFamily family,
            Predicate<ConformanceCase> which) {
        return Catalogue.of(family).stream().filter(which).map(c -> c.run(backend, ReferenceBackend::create)).toList();
    }

    private static List<String> names(Events events) {
        return events.stream().map(Event::getTestDescriptor).map(d -> d.getDisplayName()).toList();
    }
}
