package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backends;
import dev.based4j.conformance.ConformanceRunner;
import dev.based4j.conformance.GoldenSet;
import dev.based4j.conformance.ResultRow;
import dev.based4j.conformance.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The command line's whole-model runner: golden tiny_lm cases through the model module's loading, on the CPU backend. */
class ModelGoldenRunnerTest {
    @Test
    void isFoundByTheServiceLoader() {
        assertThat(GoldenSet.modelRunners()).anyMatch(r -> r instanceof ModelGoldenRunner);
    }

    @Test
    void matchesTheGoldenLogitsOnTheCpuBackend() {
        List<ResultRow> rows = ConformanceRunner.builder().catalogue(false).modelRunners(List.of(new ModelGoldenRunner()))
                .build().run(() -> Backends.select("cpu"));

        // in each precision, and with the weights in bf16, f16, int8 and int8-g32 (checked to their tolerances)
        assertThat(rows).filteredOn(r -> r.op().equals("tiny_lm")).hasSize(6)
                .allSatisfy(r -> assertThat(r.verdict()).as("%s: %s", r.caseId(), r.message())
                        .isEqualTo(Verdict.PASS))
                .allSatisfy(r -> assertThat(r.maxRelativeError()).as("%s", r.caseId())
                        .isLessThanOrEqualTo(r.caseId().endsWith("/f64") ? 1e-9 : r.caseId().endsWith("/f32") ? 1e-4
                                : r.tolerance()));
    }
}
