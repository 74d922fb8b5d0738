package dev.based4j.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backend;
import dev.based4j.conformance.testing.ReferenceBackend;

import dev.based4j.tensor.DType;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * {@code dev.based4j.reference.Reference}, run through the SDK's calls and layers in float64, reproduces every
 * bundled golden output (computed from the original PyTorch code) to 1e-10 relative (logits 1e-9): this is what
 * makes it the definition of correct.
 */
class ReferenceMatchesGoldenTest {
    @Test
    void theFloat64ReferenceReproducesEveryGoldenOutput() {
        List<ConformanceCase> cases = GoldenSet.bundled().conformanceCases(List.of(new LayerStackGoldenRunner())).stream()
                .filter(c -> c.dtype() == DType.F64).toList();
        Backend backend = ReferenceBackend.create();
        for (ConformanceCase c : cases) {
            CaseResult r = c.run(backend, ReferenceBackend::create);
            System.out.printf(Locale.ROOT, "%-40s %-26s max rel err %.2e  (%s)%n", c.id(), c.op(),
                    r.maxRelativeError(), r.message());
            assertThat(r.verdict()).as("%s: %s", c.id(), r.message()).isEqualTo(Verdict.PASS);
            assertThat(r.maxRelativeError()).as("%s: %s", c.id(), r.message())
                    .isLessThanOrEqualTo(c.op().equals("tiny_lm") ? 1e-9 : 1e-10);
        }
    }
}
