package dev.based4j.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.conformance.testing.ReferenceBackend;
import dev.based4j.tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The model module's runner turns the golden tiny_lm cases from skipped into compared logits. */
class ModelGoldenRunnerTest {
    @Test
    void isFoundByTheServiceLoader() {
        assertThat(GoldenSet.modelRunners()).anyMatch(r -> r instanceof ModelGoldenRunner);
    }

    @Test
    void matchesTheGoldenLogitsOnTheReferenceBackend() {
        List<ResultRow> rows = ConformanceRunner.builder().catalogue(false).modelRunners(List.of(new ModelGoldenRunner()))
                .build().run(ReferenceBackend::create);

        assertThat(rows).filteredOn(r -> r.op().equals("tiny_lm")).hasSize(2)
                .allSatisfy(r -> assertThat(r.verdict()).as("%s: %s", r.caseId(), r.message())
                        .isEqualTo(Verdict.PASS))
                .allSatisfy(r -> assertThat(r.maxRelativeError()).as("%s", r.caseId())
                        .isLessThanOrEqualTo(r.dtype() == DType.F64 ? 1e-9 : 1e-4));
    }
}
