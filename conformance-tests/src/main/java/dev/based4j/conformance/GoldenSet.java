package dev.based4j.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.function.Supplier;

/**
 * A set of golden cases in the format of {@code FORMAT.md}: the public cases bundled with the suite, or any
 * folder. A folder is read through its {@code index.json} when it has one, else every sub-folder with a
 * {@code case.json} is a case; a folder that itself holds a {@code case.json} is a set of one. Reading checks
 * every case completely (files, byte counts, op, configuration), so a malformed set fails at once with a message
 * that names the case and the file.
 */
public final class GoldenSet {
    private static final String BUNDLED = "golden/";

    private final String origin;
    private final List<GoldenCase> cases;
    private final List<GoldenOps.Prepared> prepared;

    private GoldenSet(String origin, List<GoldenCase> cases) {
        this.origin = origin;
        this.cases = List.copyOf(cases);
        this.prepared = cases.stream().map(GoldenSet::prepare).toList();
    }

    /**
     * Prepares a case; whatever its configuration makes the SDK refuse (a negative lookback, a shape of the wrong
     * rank, an overflowing size) is the case's fault, so it is a format error naming the case, never a backend FAIL.
     */
    private static GoldenOps.Prepared prepare(GoldenCase c) {
        try {
            return GoldenOps.prepare(c);
        } catch (GoldenFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new GoldenFormatException("golden case '" + c.name() + "' (" + c.op() + "): " + c.location()
                    + " describes a case the SDK refuses: " + e, e);
        }
    }

    /**
     * @return the public golden cases shipped with the suite (listed by their bundled {@code index.json})
     * @throws GoldenFormatException when the bundled resources are incomplete (a packaging error)
     */
    public static synchronized GoldenSet bundled() {
        // read on first use and kept; a failure is thrown again on every call rather than hidden in a class init
        if (bundledSet == null) {
            bundledSet = read(new GoldenSource.Bundled(BUNDLED), "bundled golden cases");
        }
        return bundledSet;
    }

    private static GoldenSet bundledSet;

    /**
     * Reads a folder of golden cases.
     *
     * @throws GoldenFormatException when the folder does not exist, holds no case, or a case is malformed
     */
    public static GoldenSet load(Path folder) {
        Objects.requireNonNull(folder, "folder");
        if (!Files.isDirectory(folder)) {
            throw new GoldenFormatException("golden folder " + folder + " does not exist or is not a folder");
        }
        GoldenSource.Folder source = new GoldenSource.Folder(folder);
        if (Files.isRegularFile(folder.resolve("case.json")) && !Files.isRegularFile(folder.resolve("index.json"))) {
            return new GoldenSet(folder.toString(), List.of(GoldenCase.read(source, "")));
        }
        return read(source, folder.toString());
    }

    private static GoldenSet read(GoldenSource source, String origin) {
        List<String> folders = new ArrayList<>();
        List<String> indexedOps = new ArrayList<>();
        if (source.size("index.json") >= 0) {
            JsonNode index;
            try {
                index = GoldenCase.JSON.readTree(source.read("index.json", GoldenCase.MAX_CASE_JSON_BYTES));
            } catch (IOException e) {
                throw new GoldenFormatException("golden index " + source.describe("index.json") + " is not valid JSON: "
                        + GoldenSet.jsonProblem(e), e);
            }
            JsonNode list = index == null ? null : index.get("cases");
            if (list == null || !list.isArray()) {
                throw new GoldenFormatException("golden index " + source.describe("index.json")
                        + " has no 'cases' array");
            }
            for (JsonNode entry : list) {
                String name = entry.isTextual() ? entry.asText() : entry.path("name").asText("");
                if (name.contains("/") || name.contains("\\") || name.equals("..") || name.equals(".")) {
                    throw new GoldenFormatException("golden index " + source.describe("index.json")
                            + " names a case outside its folder: " + entry);
                }
                if (name.isEmpty()) {
                    throw new GoldenFormatException("golden index " + source.describe("index.json")
                            + " has an entry without a name: " + entry);
                }
                folders.add(name);
                indexedOps.add(entry.path("op").asText(""));
            }
        } else {
            try {
                folders.addAll(source.caseFolders());
            } catch (IOException e) {
                throw new GoldenFormatException("golden folder " + origin + " cannot be listed: " + GoldenSet.jsonProblem(e), e);
            }
            folders.forEach(f -> indexedOps.add(""));
        }
        if (folders.isEmpty()) {
            throw new GoldenFormatException("golden folder " + origin
                    + " holds no case (no index.json and no sub-folder with a case.json)");
        }
        List<GoldenCase> cases = new ArrayList<>();
        for (int i = 0; i < folders.size(); i++) {
            GoldenCase c = GoldenCase.read(source, folders.get(i));
            String op = indexedOps.get(i);
            if (!op.isEmpty() && !op.equals(c.op())) {
                throw new GoldenFormatException("golden case '" + c.name() + "': index.json says op '" + op
                        + "', case.json says '" + c.op() + "'");
            }
            cases.add(c);
        }
        return new GoldenSet(origin, cases);
    }

    /** @return where the set was read from */
    public String origin() {
        return origin;
    }

    /** @return the cases, in index (or name) order */
    public List<GoldenCase> cases() {
        return cases;
    }

    /**
     * @return every case as a conformance case in each precision (F32 and F64), whole-model cases using the
     *     {@link GoldenModelRunner}s found by {@link ServiceLoader}
     */
    public List<ConformanceCase> conformanceCases() {
        return conformanceCases(modelRunners());
    }

    /** @return every case in each precision, whole-model cases using {@code runners} */
    public List<ConformanceCase> conformanceCases(List<GoldenModelRunner> runners) {
        List<GoldenModelRunner> r = List.copyOf(runners);
        List<ConformanceCase> out = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            for (DType t : DType.compute()) {
                out.add(new Golden(origin, cases.get(i), prepared.get(i), t, null, r));
            }
            GoldenCase c = cases.get(i);
            if (c.op().equals("tiny_lm")) {
                // the whole model once more with its weights stored in each reduced format, computing in float32
                for (WeightFormat f : WeightFormatCases.FORMATS) {
                    out.add(new Golden(origin, c, GoldenOps.tinyLmWithWeights(c, f), DType.F32, f, r));
                }
            }
        }
        return out;
    }

    /** @return the whole-model runners on the class or module path */
    public static List<GoldenModelRunner> modelRunners() {
        List<GoldenModelRunner> out = new ArrayList<>();
        ServiceLoader.load(GoldenModelRunner.class, GoldenSet.class.getClassLoader()).forEach(out::add);
        out.add(new LayerStackGoldenRunner());
        return out;
    }

    @Override
    public String toString() {
        return "GoldenSet[" + origin + ", " + cases.size() + " cases]";
    }

    /** One golden case in one precision. */
    private record Golden(String origin, GoldenCase golden, GoldenOps.Prepared prepared, DType dtype,
            WeightFormat weights, List<GoldenModelRunner> runners) implements ConformanceCase {
        @Override
        public KernelFamily family() {
            return KernelFamily.GOLDEN;
        }

        @Override
        public String description() {
            return weights == null ? "golden case " + golden.name() + " (" + golden.op() + ") matches its float64 outputs"
                    : "golden case " + golden.name() + " (" + golden.op() + ") with " + weights.label() + " weights"
                            + " picks its float64 greedy tokens, logits within the format's tolerance";
        }

        @Override
        public String op() {
            return golden.op();
        }

        @Override
        public String shape() {
            List<String> parts = new ArrayList<>();
            golden.tensors().values().stream().filter(t -> t.role().equals("input"))
                    .forEach(t -> parts.add(t.name() + " " + t.shape()));
            return String.join(", ", parts);
        }

        @Override
        public long seed() {
            return golden.config().path("seed").asLong(-1);
        }

        @Override
        public String id() {
            return "golden/" + golden.name() + "/" + dtype.label() + (weights == null ? "" : "/" + weights.label());
        }

        @Override
        public CaseResult run(Backend backend, Supplier<? extends Backend> anotherInstance) {
            return CatalogueCase.execute(backend, anotherInstance, prepared.requirement().of(dtype), false, dtype,
                    s -> prepared.body().run(s, runners));
        }
    }

    /** @return a JSON parse failure in one line: what is wrong and where, without the parser's source dump */
    static String jsonProblem(IOException e) {
        if (e instanceof com.fasterxml.jackson.core.JsonProcessingException j) {
            com.fasterxml.jackson.core.JsonLocation at = j.getLocation();
            return j.getOriginalMessage().lines().findFirst().orElse("malformed")
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
        }
        return String.valueOf(e.getMessage()).lines().findFirst().orElse("unreadable");
    }
}
