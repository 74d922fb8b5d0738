package dev.based4j.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.BackendUnavailableException;
import dev.based4j.conformance.testing.ReferenceBackend;

import dev.based4j.tensor.DType;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The programmatic driver used by {@code based4j conformance}. */
class ConformanceRunnerTest {

    @Nested
    class Running {
        @Test
        void runsTheChosenFamiliesOnANamedBackendAndReportsEveryCase() {
            List<ResultRow> seen = new ArrayList<>();
            ConformanceRunner runner = ConformanceRunner.builder().families(Set.of(KernelFamily.PLUMBING))
                    .bundledGolden(false).listener(seen::add).build();

            List<ResultRow> rows = runner.run("reference");

            assertThat(rows).hasSize(Catalogue.of(KernelFamily.PLUMBING).size()).isEqualTo(seen)
                    .allMatch(r -> r.backend().equals("reference") && r.verdict() == Verdict.PASS);
            assertThat(Summary.of(rows).line()).isEqualTo(rows.size() + " passed, 0 failed");
        }

        @Test
        void aWholeModelCaseIsSkippedWithTheReasonWhenNoModelRunnerIsGiven() {
            List<ResultRow> rows = ConformanceRunner.builder().catalogue(false).modelRunners(List.of()).build()
                    .run(ReferenceBackend::create);

            // once in each precision, and once with the weights in each reduced format
            int cases = 2 + WeightFormatCases.FORMATS.size();
            assertThat(rows).filteredOn(r -> r.op().equals("tiny_lm")).hasSize(cases)
                    .allMatch(r -> r.verdict() == Verdict.SKIP)
                    .allMatch(r -> r.message().contains("no GoldenModelRunner supports this whole-model case")
                            || r.message().contains("no GoldenModelRunner runs this whole-model case with"));
            assertThat(rows).filteredOn(r -> !r.op().equals("tiny_lm"))
                    .allMatch(r -> r.verdict() == Verdict.PASS, "every other golden case passes");
            Summary s = Summary.of(rows);
            assertThat(s.line()).isEqualTo(s.passed() + " passed, 0 failed, " + cases + " skipped");
        }

        @Test
        void theKitsOwnLayerStackRunnerComparesTheLogitsOfTheWholeModelCase() {
            List<ResultRow> rows = ConformanceRunner.builder().catalogue(false)
                    .filter(c -> c.op().equals("tiny_lm")).build().run(ReferenceBackend::create);

            assertThat(rows).hasSize(2 + WeightFormatCases.FORMATS.size()).allMatch(r -> r.verdict() == Verdict.PASS)
                    .allSatisfy(r -> assertThat(r.maxRelativeError()).as("%s: %s", r.caseId(), r.message())
                            .isLessThanOrEqualTo(r.caseId().endsWith("/f64") ? 1e-9 : r.caseId().endsWith("/f32")
                                    ? 1e-4 : r.tolerance()));
        }

        @Test
        void precisionsRestrictTheRun() {
            ConformanceRunner runner = ConformanceRunner.builder().precisions(EnumSet.of(DType.F64))
                    .families(Set.of(KernelFamily.CAUSAL_CONV)).bundledGolden(false).build();
            assertThat(runner.cases()).isNotEmpty().allMatch(c -> c.dtype() == DType.F64);
        }

        @Test
        void anUnknownBackendIsAnErrorThatListsTheKnownOnes() {
            ConformanceRunner runner = ConformanceRunner.builder().families(Set.of(KernelFamily.PLUMBING)).build();
            assertThatThrownBy(() -> runner.run("nope")).isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("'nope'").hasMessageContaining("reference");
        }

        @Test
        void rowsFormatTheirNumbers() {
            ResultRow row = new ResultRow("cpu", "x/1", "d", KernelFamily.PLUMBING, "op", "s", DType.F32, 1, 3.14159e-7,
                    1e-5, Verdict.PASS, "m");
            assertThat(row.errorText()).isEqualTo("3.14e-07");
            assertThat(row.toleranceText()).isEqualTo("1e-05");
            ResultRow none = new ResultRow("cpu", "x/2", "d", KernelFamily.BAD_INPUT, "op", "s", DType.F32, 1, Double.NaN,
                    Double.NaN, Verdict.PASS, "m");
            assertThat(none.errorText()).isEqualTo("-");
        }
    }
}
