package dev.based4j.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * The conformance kit a backend runs in its own tests, in one line (every test factory has a name of its own, because
 * test tools such as Maven Surefire identify dynamic tests by their factory's method name and index):
 *
 * <pre>{@code
 * class XyzConformanceTest extends BackendConformanceKit {
 *     @Override protected Backend createBackend() { return Backends.select("xyz"); }
 * }
 * }</pre>
 *
 * One {@code @Nested} class per kernel family, each a {@code @TestFactory} of the {@link Catalogue}'s cases (and
 * the bundled golden cases), named as sentences with their shape, precision, seed and case id. A case the backend's
 * capabilities leave out is aborted with the reason, so JUnit reports it skipped, never passed; when the class ends,
 * the kit prints its own count of passed, failed and skipped cases with every skip reason ({@link #report()}).
 *
 * <p>One backend instance serves the whole class and is closed after it; cases that need a second instance
 * (resuming a saved state elsewhere, tensors of another backend) call {@link #createBackend()} again and close
 * what they get.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendConformanceKit {
    private Backend backend;
    private final List<CaseResult> results = new ArrayList<>();

    /** @return a new instance of the backend under test; called once for the class and again by some cases */
    protected abstract Backend createBackend();

    /** @return extra folders of golden cases to check besides the bundled ones (none by default) */
    protected List<Path> extraGoldenFolders() {
        return List.of();
    }

    /** @return the instance shared by the class, created on first use */
    protected final synchronized Backend backend() {
        if (backend == null) {
            backend = createBackend();
            assertThat(backend).as("createBackend() returned null").isNotNull();
        }
        return backend;
    }

    @AfterAll
    final synchronized void closeBackend() {
        try {
            if (!results.isEmpty()) {
                System.out.println(report());
            }
        } finally {
            if (backend != null) {
                backend.close();
                backend = null;
            }
        }
    }

    /**
     * @return the kit's own account of this run: cases passed, failed and skipped, and every reason a case was
     *     skipped with how many cases it skipped (printed on standard output when the kit ends)
     */
    protected final synchronized String report() {
        String name = backend != null ? backend.name() : "backend";
        List<CaseResult> all = List.copyOf(results);
        long passed = all.stream().filter(r -> r.verdict() == Verdict.PASS).count();
        long failed = all.stream().filter(r -> r.verdict() == Verdict.FAIL).count();
        Map<String, Long> skipped = all.stream().filter(r -> r.verdict() == Verdict.SKIP)
                .collect(Collectors.groupingBy(CaseResult::message, TreeMap::new, Collectors.counting()));
        StringBuilder b = new StringBuilder("[conformance] ").append(name).append(": ").append(all.size())
                .append(" cases: ").append(passed).append(" passed, ").append(failed).append(" failed, ")
                .append(skipped.values().stream().mapToLong(Long::longValue).sum()).append(" skipped");
        skipped.forEach((why, n) -> b.append(System.lineSeparator()).append("[conformance]   skipped ").append(n)
                .append(": ").append(why));
        return b.toString();
    }

    /**
     * @return one dynamic test per case, named {@link ConformanceCase#displayName()} and its unique id, so that
     *     every case is one test in every report (test tools merge tests of equal names)
     */
    protected final Stream<DynamicTest> tests(List<ConformanceCase> cases) {
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.displayName() + " [" + c.id() + "]", () -> check(c)));
    }

    private void check(ConformanceCase c) {
        CaseResult r = c.run(backend(), this::createBackend);
        synchronized (this) {
            results.add(r);
        }
        switch (r.verdict()) {
            case SKIP -> Assumptions.abort("skipped: " + r.message());
            case FAIL -> {
                AssertionError e = new AssertionError(c.displayName() + " [" + c.id() + "]: " + r.message());
                if (r.error() != null) {
                    e.initCause(r.error());
                }
                throw e;
            }
            case PASS -> {
                if (!Double.isNaN(r.maxRelativeError())) {
                    assertThat(r.maxRelativeError())
                            .as("max relative error vs float64 reference of %s, seed %d (%s)", c.id(), c.seed(),
                                    r.message())
                            .isLessThanOrEqualTo(r.tolerance());
                }
            }
        }
    }

    /** {@code Backend.featureMap} for every feature map. */
    @Nested
    @DisplayName("feature maps")
    class FeatureMaps {
        @TestFactory
        @DisplayName("every feature map matches its float64 definition")
        Stream<DynamicTest> featureMapsMatchTheReference() {
            return tests(Catalogue.of(KernelFamily.FEATURE_MAP));
        }
    }

    /** Linear attention: every prefill algorithm and feature map, decode, continuation. */
    @Nested
    @DisplayName("linear attention")
    class LinearAttention {
        @TestFactory
        @DisplayName("prefill and decode match the float64 reference")
        Stream<DynamicTest> linearAttentionMatchesTheReference() {
            return tests(Catalogue.of(KernelFamily.LINEAR_ATTENTION));
        }
    }

    /** Sliding-window attention with its ring buffer. */
    @Nested
    @DisplayName("sliding window")
    class SlidingWindow {
        @TestFactory
        @DisplayName("prefill and decode match the float64 reference")
        Stream<DynamicTest> slidingWindowMatchesTheReference() {
            return tests(Catalogue.of(KernelFamily.SLIDING_WINDOW));
        }
    }

    /** The fused linear-plus-window layer. */
    @Nested
    @DisplayName("fused attention")
    class FusedAttention {
        @TestFactory
        @DisplayName("prefill and decode match the float64 reference")
        Stream<DynamicTest> fusedAttentionMatchesTheReference() {
            return tests(Catalogue.of(KernelFamily.BASED_ATTENTION));
        }
    }

    /** The causal depthwise convolution of BaseConv. */
    @Nested
    @DisplayName("causal convolution")
    class CausalConvolution {
        @TestFactory
        @DisplayName("prefill and single steps match the float64 reference")
        Stream<DynamicTest> causalConvolutionMatchesTheReference() {
            return tests(Catalogue.of(KernelFamily.CAUSAL_CONV));
        }
    }

    /** Matrix multiply, norms, activations, element-wise ops, embedding, rotary, head reshuffles. */
    @Nested
    @DisplayName("plumbing")
    class Plumbing {
        @TestFactory
        @DisplayName("model plumbing matches the float64 reference")
        Stream<DynamicTest> plumbingMatchesTheReference() {
            return tests(Catalogue.of(KernelFamily.PLUMBING));
        }
    }

    /** The layers, blocks and a small stack built from seeded weights. */
    @Nested
    @DisplayName("layers")
    class Layers {
        @TestFactory
        @DisplayName("layers and a small stack match the float64 reference")
        Stream<DynamicTest> layersMatchTheReference() {
            return tests(Catalogue.of(KernelFamily.LAYERS));
        }
    }

    /** Saving a state to bytes, loading it and resuming, also on another instance. */
    @Nested
    @DisplayName("state save and resume")
    class StateSaveAndResume {
        @TestFactory
        @DisplayName("saved states resume exactly")
        Stream<DynamicTest> resumeExactly() {
            return tests(Catalogue.of(KernelFamily.STATE_FORMAT));
        }
    }

    /** Wrong shapes, closed tensors, tensors of another backend. */
    @Nested
    @DisplayName("bad input")
    class BadInput {
        @TestFactory
        @DisplayName("bad input is refused with a message that names it")
        Stream<DynamicTest> isRefused() {
            return tests(Catalogue.of(KernelFamily.BAD_INPUT));
        }
    }

    /** Golden vectors computed from the original PyTorch code. */
    @Nested
    @DisplayName("golden vectors")
    class Golden {
        @TestFactory
        @DisplayName("the bundled golden cases match their float64 outputs")
        Stream<DynamicTest> bundledCasesMatch() {
            return tests(GoldenSet.bundled().conformanceCases());
        }

        @TestFactory
        @DisplayName("extra golden folders match their float64 outputs")
        Stream<DynamicTest> extraFoldersMatch() {
            return extraGoldenFolders().stream().flatMap(f -> tests(GoldenSet.load(f).conformanceCases()));
        }
    }
}
