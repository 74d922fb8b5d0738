package dev.based4j.conformance;

import dev.based4j.Backends;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Runs conformance cases programmatically, for the {@code based4j conformance} command: the seeded catalogue,
 * the bundled golden cases and any golden folders, on one backend, one {@link ResultRow} per case.
 *
 * <pre>{@code
 * ConformanceRunner runner = ConformanceRunner.builder()
 *         .goldenFolder(Path.of("more-golden"))      // read and checked here: GoldenFormatException
 *         .listener(row -> System.out.println(row))  // progress, one call per case
 *         .build();
 * List<ResultRow> rows = runner.run("cpu");          // BackendUnavailableException if cpu cannot run
 * Summary summary = Summary.of(rows);                // summary.line(): "412 passed, 0 failed, 6 skipped"
 * }</pre>
 *
 * For {@code --backend all}, run it once per usable provider of {@link Backends#list()}. A runner is immutable and
 * may run on many backends, one after the other or at once.
 */
public final class ConformanceRunner {
    private final List<ConformanceCase> cases;
    private final Consumer<ResultRow> listener;

    private ConformanceRunner(List<ConformanceCase> cases, Consumer<ResultRow> listener) {
        this.cases = List.copyOf(cases);
        this.listener = listener;
    }

    /** @return a builder: catalogue and bundled golden cases on, both precisions, no extra folders */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the cases a run goes through, in order */
    public List<ConformanceCase> cases() {
        return cases;
    }

    /**
     * Runs every case on the backend {@code name} (selected with {@link Backends#select(String)}; a second instance
     * is created the same way where a case needs one).
     *
     * @throws dev.based4j.BackendUnavailableException when the backend is unknown or cannot run here
     */
    public List<ResultRow> run(String name) {
        Objects.requireNonNull(name, "name");
        return run(() -> Backends.select(name));
    }

    /**
     * Runs every case on a backend from {@code factory}: one instance for the run (closed at the end), more where
     * a case needs a second instance (closed by the case).
     */
    public List<ResultRow> run(Supplier<? extends Backend> factory) {
        Objects.requireNonNull(factory, "factory");
        try (Backend backend = Objects.requireNonNull(factory.get(), "factory returned null")) {
            return run(backend, factory);
        }
    }

    /**
     * Runs every case on {@code backend}, which the caller keeps and closes.
     *
     * @param anotherInstance makes a second instance of the same backend, or null (cases that need one are
     *     skipped)
     */
    public List<ResultRow> run(Backend backend, Supplier<? extends Backend> anotherInstance) {
        Objects.requireNonNull(backend, "backend");
        List<ResultRow> rows = new ArrayList<>(cases.size());
        for (ConformanceCase c : cases) {
            ResultRow row = ResultRow.of(backend.name(), c, c.run(backend, anotherInstance));
            rows.add(row);
            if (listener != null) {
                listener.accept(row);
            }
        }
        return rows;
    }

    /** Configures a {@link ConformanceRunner}. */
    public static final class Builder {
        private boolean catalogue = true;
        private boolean bundledGolden = true;
        private final List<Path> goldenFolders = new ArrayList<>();
        private Set<KernelFamily> families = EnumSet.allOf(KernelFamily.class);
        private Set<DType> precisions = EnumSet.copyOf(DType.compute());
        private List<GoldenModelRunner> modelRunners;
        private Consumer<ResultRow> listener;
        private Predicate<? super ConformanceCase> filter = c -> true;

        private Builder() {}

        /** Whether to run the seeded catalogue (default true). */
        public Builder catalogue(boolean include) {
            this.catalogue = include;
            return this;
        }

        /** Whether to run the golden cases bundled with the suite (default true). */
        public Builder bundledGolden(boolean include) {
            this.bundledGolden = include;
            return this;
        }

        /** Adds a folder of golden cases in the {@code FORMAT.md} format (read in {@link #build()}). */
        public Builder goldenFolder(Path folder) {
            goldenFolders.add(Objects.requireNonNull(folder, "folder"));
            return this;
        }

        /** Adds golden folders. */
        public Builder goldenFolders(List<Path> folders) {
            folders.forEach(this::goldenFolder);
            return this;
        }

        /** Restricts the catalogue and golden cases to these families (default all). */
        public Builder families(Set<KernelFamily> include) {
            if (include == null || include.isEmpty()) {
                throw new IllegalArgumentException("families: expected at least one family, got " + include);
            }
            this.families = EnumSet.copyOf(include);
            return this;
        }

        /** Restricts the run to these precisions (default F32 and F64). */
        public Builder precisions(Set<DType> include) {
            if (include == null || include.isEmpty()) {
                throw new IllegalArgumentException("precisions: expected at least one of f32, f64, got " + include);
            }
            this.precisions = EnumSet.copyOf(include);
            return this;
        }

        /** Keeps only the cases {@code which} accepts (for example by {@link ConformanceCase#id()}). */
        public Builder filter(Predicate<? super ConformanceCase> which) {
            this.filter = Objects.requireNonNull(which, "which");
            return this;
        }

        /** The whole-model runners for {@code tiny_lm} cases (default: those {@link java.util.ServiceLoader} finds). */
        public Builder modelRunners(List<GoldenModelRunner> runners) {
            this.modelRunners = List.copyOf(runners);
            return this;
        }

        /** Called with each row as soon as its case has run (for progress output). */
        public Builder listener(Consumer<ResultRow> onRow) {
            this.listener = onRow;
            return this;
        }

        /**
         * Reads the golden folders and assembles the cases.
         *
         * @throws GoldenFormatException naming the case and the file when a folder is missing or malformed
         */
        public ConformanceRunner build() {
            List<GoldenModelRunner> runners = modelRunners != null ? modelRunners : GoldenSet.modelRunners();
            List<ConformanceCase> all = new ArrayList<>();
            if (catalogue) {
                all.addAll(Catalogue.all());
            }
            if (bundledGolden) {
                all.addAll(GoldenSet.bundled().conformanceCases(runners));
            }
            for (Path folder : goldenFolders) {
                all.addAll(GoldenSet.load(folder).conformanceCases(runners));
            }
            List<ConformanceCase> chosen = all.stream()
                    .filter(c -> families.contains(c.family()) && precisions.contains(c.dtype()))
                    .filter(c -> filter.test(c)).toList();
            return new ConformanceRunner(chosen, listener);
        }
    }
}
