package dev.based4j.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.conformance.CaseResult;
import dev.based4j.conformance.GoldenFormatException;
import dev.based4j.conformance.GoldenSet;
import dev.based4j.conformance.Verdict;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.model.CheckpointException;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.model.MemoryBudget;
import dev.based4j.model.SafetensorsFile;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.model.TextTokenizer;
import dev.based4j.state.CorruptStateException;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.StateFormat;
import dev.based4j.state.StateSnapshot;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.TestFactory;

/**
 * The standing adversarial suite of the files based4j reads: every crafted input known to have broken it, and its
 * neighbours, generated under {@code target/adversarial/<kind>/<case>}, each with the exception it must end in and
 * the fragments its message must hold (the file, the key, the value, the limit), or a property that must hold. A
 * case that ends any other way (another exception, an {@link OutOfMemoryError}, {@link InternalError}, a hang past
 * two minutes, a wrong result) fails, so a regression fails {@code ./mvnw verify}.
 *
 * <p>Tokenizer files run in a child JVM: the native tokenizer aborts the process when it panics, which must kill the
 * child (and fail the case), never the test. The JVM of this test has a fixed 1 GiB heap, so a reader that allocated
 * what a file claims would fail with {@link OutOfMemoryError}.
 */
class AdversarialInputsTest {
    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).resolve("target")
            .resolve("adversarial");
    private static final String HOST_MEMORY = MemoryBudget.HOST_MEMORY.property();
    private static final Class<CheckpointException> CKPT = CheckpointException.class;
    private static final Class<GoldenFormatException> GOLDEN = GoldenFormatException.class;
    private static final Class<CorruptStateException> STATE = CorruptStateException.class;

    /** What one crafted input must do. */
    @FunctionalInterface
    interface Action {
        void run(Path dir) throws Exception;
    }

    /**
     * One crafted input.
     *
     * @param name the case, also its folder
     * @param refusedWith the exception it must end in, or null when {@code action} checks a property itself
     * @param fragments what that exception's message must contain
     * @param action writes the input under its folder and hands it to based4j
     * @param refusal whether the input must be refused (true also for refusals checked in a child process)
     */
    record Case(String name, Class<? extends Throwable> refusedWith, List<String> fragments, Action action,
            boolean refusal) {
        void check(Path kindDir) throws Exception {
            Path dir = kindDir.resolve(name);
            Files.createDirectories(dir);
            Throwable thrown = null;
            try {
                Assertions.assertTimeoutPreemptively(Duration.ofMinutes(2), () -> action.run(dir),
                        () -> name + ": still running after two minutes (a hang)");
            } catch (Throwable t) {
                thrown = t;
            }
            if (refusedWith == null) {
                if (thrown != null) {
                    throw new AssertionError(name + ": expected to hold, but ended in " + thrown, thrown);
                }
                return;
            }
            if (thrown == null) {
                throw new AssertionError(name + ": expected " + refusedWith.getSimpleName() + ", but it was accepted");
            }
            if (!refusedWith.isInstance(thrown)) {
                throw new AssertionError(name + ": expected " + refusedWith.getSimpleName() + ", got " + thrown, thrown);
            }
            String message = String.valueOf(thrown.getMessage());
            for (String f : fragments) {
                if (!message.contains(f)) {
                    throw new AssertionError(name + ": the message does not say '" + f + "': " + message, thrown);
                }
            }
        }
    }

    static Case refused(String name, Class<? extends Throwable> type, Action action, String... fragments) {
        return new Case(name, type, List.of(fragments), action, true);
    }

    static Case holds(String name, Action action) {
        return new Case(name, null, List.of(), action, false);
    }

    /** A refusal that happened elsewhere (in a child JVM) and that {@code check} verifies from its report. */
    static Case refusedElsewhere(String name, Action check) {
        return new Case(name, null, List.of(), check, true);
    }

    /** One dynamic test per case, then a line with the counts for the reliability report. */
    private static Stream<DynamicTest> run(String kind, List<Case> cases) throws IOException {
        Path kindDir = ROOT.resolve(kind);
        deleteTree(kindDir);
        Files.createDirectories(kindDir);
        int[] failures = {0};
        Stream<DynamicTest> each = cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            try {
                c.check(kindDir);
            } catch (Throwable t) {
                failures[0]++;
                throw t;
            }
        }));
        long refusals = cases.stream().filter(Case::refusal).count();
        return Stream.concat(each, Stream.of(DynamicTest.dynamicTest("summary", () -> System.out.println(
                "[hardening] adversarial " + kind + ": " + cases.size() + " crafted inputs (" + refusals
                        + " to be refused, " + (cases.size() - refusals) + " properties), " + failures[0]
                        + " failures"))));
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Runs {@code action} with the host-memory budget set to {@code size}. */
    private static void withHostBudget(String size, Action action, Path dir) throws Exception {
        String before = System.getProperty(HOST_MEMORY);
        System.setProperty(HOST_MEMORY, size);
        try {
            action.run(dir);
        } finally {
            if (before == null) {
                System.clearProperty(HOST_MEMORY);
            } else {
                System.setProperty(HOST_MEMORY, before);
            }
        }
    }

    private static String tinyJson() throws IOException {
        return BasedConfig.tiny().toJson();
    }

    /** A config.json case read by {@link BasedConfig#read}. */
    private static Case config(String name, String text, String... fragments) {
        String[] all = Arrays.copyOf(fragments, fragments.length + 1);
        all[fragments.length] = "config.json";
        return refused(name, CKPT, dir -> BasedConfig.read(Crafted.config(dir, text)), all);
    }

    private static String tinyWith(java.util.function.Consumer<ObjectNode> change) {
        try {
            ObjectNode c = Crafted.tinyConfig();
            change.accept(c);
            return Crafted.JSON.writeValueAsString(c);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------ config.json

    @Nested
    class ConfigFiles {
        @TestFactory
        Stream<DynamicTest> configJsonIsReadStrictlyAndEverySizeIsChecked() throws IOException {
            String tiny = tinyJson();
            List<Case> cases = new ArrayList<>();
            cases.add(config("trailing-garbage", tiny + " garbage", "not valid JSON"));
            cases.add(config("a-second-object", tiny + "{}", "not valid JSON"));
            cases.add(config("duplicate-key", tiny.replaceFirst("\\{", "{\"n_layer\": 5, "), "Duplicate field"));
            cases.add(config("layer-indices-beyond-int", tinyWith(c -> c.putArray("alt_mixer_layers")
                    .add(4294967297L).add(4294967300L)), "alt_mixer_layers: expected layer indices", "4294967297"));
            cases.add(config("boolean-beyond-int", tinyWith(c -> c.put("rms_norm", 4294967297L)),
                    "rms_norm: expected true or false, got 4294967297"));
            cases.add(config("n-head-zero", tinyWith(c -> c.put("n_head", 0)), "n_head: expected >= 1, got 0"));
            cases.add(config("la-heads-zero", tinyWith(c -> ((ObjectNode) c.get("alt_mixer")).put("num_heads", 0)),
                    "alt_mixer.num_heads: expected >= 1, got 0"));
            cases.add(config("n-layer-1e8", tinyWith(c -> c.put("n_layer", 100_000_000)),
                    "n_layer: 100000000 is above the limit of 65536 layers", "bytes"));
            cases.add(config("n-layer-max-int", tinyWith(c -> c.put("n_layer", Integer.MAX_VALUE)),
                    "n_layer: 2147483647 is above the limit"));
            cases.add(config("n-layer-fraction", tinyWith(c -> c.put("n_layer", 5.5)), "n_layer: expected an integer"));
            cases.add(config("n-embd-3d-beyond-int", tinyWith(c -> c.put("n_embd", 2_147_483_600).put("n_head", 4)),
                    "n_embd: 2147483600 makes 3·n_embd", "6442450800", "2147483647"));
            cases.add(config("n-embd-in-proj-beyond-int", tinyWith(c -> c.put("n_embd", 700_000_000).put("n_head", 4)),
                    "mixer.expand_proj: 4 makes expand_proj·n_embd", "2800000000"));
            cases.add(config("vocab-max-int-padded", tinyWith(c -> c.put("vocab_size", Integer.MAX_VALUE)),
                    "vocab_size: 2147483647 makes", "2147483648"));
            cases.add(config("n-inner-beyond-int", tinyWith(c -> c.put("n_inner", 2_000_000_000)),
                    "n_inner: 2000000000 makes 2·(n_inner"));
            cases.add(config("feature-dim-squared-beyond-int", tinyWith(c -> ((ObjectNode) c.get("alt_mixer"))
                    .put("feature_dim", 50_000).remove("feature_map")), "alt_mixer.feature_dim: 50000", "1 + f + f²"));
            cases.add(config("window-beyond-the-ring", tinyWith(c -> ((ObjectNode) c.get("alt_mixer_2"))
                    .put("window_size", 33_554_432)), "alt_mixer_2.window_size: expected 0..33554431", "got 33554432"));
            cases.add(config("epsilon-overflows", tiny.replaceFirst("\"layer_norm_epsilon\" : [^,]+,",
                    "\"layer_norm_epsilon\" : 1e999,"), "layer_norm_epsilon: expected a finite number"));
            cases.add(refused("a-fifo", CKPT, dir -> BasedConfig.read(Crafted.fifo(dir.resolve("config.json"))),
                    "config.json: not a regular file"));
            cases.add(refused("dev-zero", CKPT, dir -> BasedConfig.read(Crafted.devZero(dir.resolve("config.json"))),
                    "config.json: not a regular file"));
            cases.add(refused("sparse-3-gib", CKPT, dir -> BasedConfig.read(Crafted.sparse(dir.resolve("config.json"),
                    3L << 30, (byte) '{')), "config.json", "limit"));
            return run("config", cases);
        }
    }

    // ------------------------------------------------------------------------------------------------ checkpoints

    @Nested
    class Checkpoints {
        private static final String PROJ_Q = "transformer.layers.1.mixer.proj_q.weight";

        @TestFactory
        Stream<DynamicTest> weightsAreCheckedAndOwnedAndTheModelIsBudgeted() throws IOException {
            BasedConfig tiny = BasedConfig.tiny();
            List<Case> cases = new ArrayList<>();
            cases.add(refused("nan-weight", CKPT, dir -> loadCpu(Crafted.checkpoint(dir, tiny, 1, StoredType.F32,
                    w -> w.get(PROJ_Q).setDouble(70, Double.NaN))), "model.safetensors", PROJ_Q,
                    "element [1, 6] (index 70) is NaN"));
            cases.add(refused("infinite-f16-weight", CKPT, dir -> loadCpu(Crafted.checkpoint(dir, tiny, 1,
                    StoredType.F16, w -> w.get(PROJ_Q).setDouble(3, 1e6))), PROJ_Q, "is Infinity"));
            cases.add(refused("f64-beyond-f32", CKPT, dir -> loadCpu(Crafted.checkpoint(dir, tiny, 1, StoredType.F64,
                    w -> {
                        HostTensor t = w.get(PROJ_Q).to(DType.F64);
                        t.setDouble(5, 1e300);
                        w.put(PROJ_Q, t);
                    })), PROJ_Q, "beyond the range of f32"));
            cases.add(refused("header-trailing-garbage", CKPT, dir -> SafetensorsFile.open(Crafted.safetensors(
                    dir.resolve("m.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x",
                    8)).close(), "m.safetensors", "not valid JSON"));
            cases.add(refused("weights-a-fifo", CKPT, dir -> {
                Crafted.checkpoint(dir, tiny, 1, StoredType.F32, w -> {});
                Files.delete(dir.resolve(Checkpoint.WEIGHTS_FILE));
                Crafted.fifo(dir.resolve(Checkpoint.WEIGHTS_FILE));
                loadCpu(dir);
            }, "model.safetensors: not a regular file (a FIFO, socket or device)"));
            cases.add(refused("weights-dev-zero", CKPT, dir -> {
                Crafted.checkpoint(dir, tiny, 1, StoredType.F32, w -> {});
                Files.delete(dir.resolve(Checkpoint.WEIGHTS_FILE));
                Crafted.devZero(dir.resolve(Checkpoint.WEIGHTS_FILE));
                loadCpu(dir);
            }, "model.safetensors: not a regular file"));
            cases.add(refused("truncated-while-reading", CKPT, dir -> {
                Crafted.checkpoint(dir, tiny, 1, StoredType.F32, w -> {});
                try (Checkpoint ck = Checkpoint.open(dir)) {
                    try (FileChannel ch = FileChannel.open(dir.resolve(Checkpoint.WEIGHTS_FILE),
                            StandardOpenOption.WRITE)) {
                        ch.truncate(ch.size() / 2);
                    }
                    for (String n : ck.tensorNames()) {
                        ck.tensor(n, DType.F32);
                    }
                }
            }, "model.safetensors: truncated while being read"));
            cases.add(refused("rewritten-while-loading", CKPT, dir -> {
                Crafted.checkpoint(dir, tiny, 1, StoredType.F32, w -> {});
                Path file = dir.resolve(Checkpoint.WEIGHTS_FILE);
                try (Checkpoint ck = Checkpoint.open(dir)) {
                    ck.tensor(PROJ_Q, DType.F32);
                    byte[] other = Files.readAllBytes(Crafted.checkpoint(dir.resolve("other"), tiny, 2,
                            StoredType.F32, w -> {}).resolve(Checkpoint.WEIGHTS_FILE));
                    Files.write(file, other);
                    Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 5_000));
                    ck.checkUnchanged();
                }
            }, "model.safetensors: changed while it was being read"));
            cases.add(holds("overwritten-and-truncated-after-load", dir -> {
                Crafted.checkpoint(dir, tiny, 1, StoredType.F32, w -> {});
                Path file = dir.resolve(Checkpoint.WEIGHTS_FILE);
                int[] ids = {5, 17, 3, 99, 42, 8};
                for (String name : usableBackends()) {
                    try (Backend b = Backends.select(name);
                            BasedModel model = BasedModel.load(dir, b, DType.F32)) {
                        float[] before = model.logits(ids, 1, ids.length).toFloatArray();
                        byte[] original = Files.readAllBytes(file);
                        byte[] other = Files.readAllBytes(Crafted.checkpoint(dir.resolve("other-" + name), tiny, 2,
                                StoredType.F32, w -> {}).resolve(Checkpoint.WEIGHTS_FILE));
                        Files.write(file, other);
                        assertThat(model.logits(ids, 1, ids.length).toFloatArray())
                                .as("%s: logits after model.safetensors was overwritten", name).containsExactly(before);
                        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                            ch.truncate(100);
                        }
                        assertThat(model.logits(ids, 1, ids.length).toFloatArray())
                                .as("%s: logits after model.safetensors was truncated", name).containsExactly(before);
                        Files.write(file, original);
                    }
                }
                System.out.println("[hardening] checkpoint overwritten and truncated after the load: logits unchanged"
                        + " on " + usableBackends());
            }));
            cases.add(holds("the-budgeted-state-bounds-the-real-one", dir -> {
                BasedConfig biased = BasedConfig.parse(tinyWith(c -> c.put("qkv_proj_bias", true)
                        .put("tie_word_embeddings", false)));
                for (BasedConfig c : List.of(tiny, biased)) {
                    try (Backend b = Backends.select("cpu");
                            BasedModel m = BasedModel.random(b, c, 1, DType.F64);
                            var state = m.newState(3)) {
                        assertThat(c.stateElementsPerSequence() * 3 * 8).as("budgeted state of 3 sequences")
                                .isGreaterThanOrEqualTo(state.sizeInBytes());
                        assertThat(c.parameterCount() * 8).as("budgeted weights")
                                .isEqualTo(c.weightShapes().values().stream().mapToLong(Shape::elementCount).sum()
                                        * 8);
                    }
                }
            }));
            cases.add(refused("window-state-beyond-the-budget", CKPT, dir -> {
                BasedConfig wide = BasedConfig.parse(tinyWith(c -> ((ObjectNode) c.get("alt_mixer_2"))
                        .put("window_size", 33_554_430)));
                Crafted.checkpoint(dir, wide, 1, StoredType.F32, w -> {});
                withHostBudget("1g", d -> loadCpu(d), dir);
            }, "config.json: the model needs", "alt_mixer_2.window_size 33554430", "16777216 slots",
                    "above the host-memory budget of 1,073,741,824 bytes", HOST_MEMORY));
            cases.add(refused("vocabulary-beyond-the-budget", IllegalArgumentException.class, dir -> withHostBudget(
                    "1g", d -> {
                        BasedConfig huge = BasedConfig.parse(tinyWith(c -> c.put("vocab_size", Integer.MAX_VALUE)
                                .put("pad_vocab_size_multiple", 1)));
                        try (Backend b = Backends.select("cpu")) {
                            BasedModel.random(b, huge, 1, DType.F32).close();
                        }
                    }, dir), "vocab_size 2147483647", "above the host-memory budget"));
            cases.add(refused("batch-beyond-the-budget", IllegalArgumentException.class, dir -> withHostBudget("64m",
                    d -> {
                        try (Backend b = Backends.select("cpu");
                                BasedModel m = BasedModel.random(b, tiny, 1, DType.F32)) {
                            m.newState(1_000_000).close();
                        }
                    }, dir), "batch 1000000", "the state of 1000000 sequences", "above the host-memory budget"));
            cases.add(refused("tensor-beyond-the-budget", CKPT, dir -> {
                Crafted.checkpoint(dir, tiny, 1, StoredType.F32, w -> {});
                withHostBudget("16k", d -> {
                    try (SafetensorsFile f = SafetensorsFile.open(d.resolve(Checkpoint.WEIGHTS_FILE))) {
                        f.tensor("transformer.embeddings.word_embeddings.weight", DType.F32);
                    }
                }, dir);
            }, "word_embeddings.weight", "needs 26624 bytes", "above the budget of 16384 bytes"));
            return run("checkpoint", cases);
        }

        private static void loadCpu(Path dir) {
            try (Backend b = Backends.select("cpu")) {
                BasedModel.load(dir, b, DType.F32).close();
            }
        }
    }

    /** cpu, and opencl and onnx when this machine runs them. */
    private static List<String> usableBackends() {
        List<String> names = new ArrayList<>();
        for (var p : Backends.list()) {
            String n = p.provider().name();
            if (List.of("cpu", "opencl", "onnx").contains(n) && p.availability().usable()) {
                names.add(n);
            }
        }
        return names;
    }

    // ------------------------------------------------------------------------------------------------ tokenizers

    @Nested
    class Tokenizers {
        /** A byte-level BPE of a few tokens, in the layout Hugging Face writes for GPT-2. */
        private static ObjectNode tokenizer() {
            ObjectNode root = Crafted.JSON.createObjectNode();
            root.put("version", "1.0");
            root.putNull("truncation");
            root.putNull("padding");
            root.putArray("added_tokens").addObject().put("id", 7).put("content", "<|endoftext|>")
                    .put("single_word", false).put("lstrip", false).put("rstrip", false).put("normalized", true)
                    .put("special", true);
            root.putNull("normalizer");
            root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                    .put("trim_offsets", true).put("use_regex", true);
            root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", true)
                    .put("trim_offsets", false).put("use_regex", true);
            root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true)
                    .put("trim_offsets", true).put("use_regex", true);
            ObjectNode model = root.putObject("model");
            model.put("type", "BPE").putNull("dropout").putNull("unk_token").put("continuing_subword_prefix", "")
                    .put("end_of_word_suffix", "").put("fuse_unk", false).put("byte_fallback", false);
            ObjectNode vocab = model.putObject("vocab");
            String[] tokens = {"a", "b", "ab", "h", "e", "l", "o"};
            for (int i = 0; i < tokens.length; i++) {
                vocab.put(tokens[i], i);
            }
            model.putArray("merges").add("a b");
            return root;
        }

        private record TokenizerCase(String name, String json, String prompt, String fragment) {}

        private static TokenizerCase refusedCase(String name, ObjectNode json, String fragment) {
            return new TokenizerCase(name, json.toString(), null, fragment);
        }

        private static ObjectNode with(String key, ObjectNode component) {
            ObjectNode t = tokenizer();
            t.set(key, component);
            return t;
        }

        private static ObjectNode replace(String kind, String pattern) {
            ObjectNode n = Crafted.JSON.createObjectNode().put("type", "Replace");
            n.putObject("pattern").put(kind, pattern);
            return n.put("content", "x");
        }

        private static ObjectNode split(String regex) {
            ObjectNode n = Crafted.JSON.createObjectNode().put("type", "Split");
            n.putObject("pattern").put("Regex", regex);
            return n.put("behavior", "Isolated").put("invert", false);
        }

        @TestFactory
        Stream<DynamicTest> tokenizerFilesAreCheckedBeforeTheNativeTokenizerSeesThem() throws Exception {
            List<TokenizerCase> t = new ArrayList<>();
            t.add(refusedCase("precompiled-charsmap", with("normalizer", Crafted.JSON.createObjectNode()
                    .put("type", "Precompiled").put("precompiled_charsmap", "AAAAAA==")), "normalizer.type: 'Precompiled'"));
            t.add(refusedCase("replace-empty-regex", with("normalizer", replace("Regex", "")),
                    "normalizer.pattern.Regex: is empty"));
            t.add(refusedCase("replace-empty-string", with("normalizer", replace("String", "")),
                    "normalizer.pattern.String: is empty"));
            t.add(new TokenizerCase("replace-catastrophic-regex-long-prompt", with("normalizer",
                    replace("Regex", "(a|aa)+$")).toString(), "a".repeat(5000) + "!", "nested repetition"));
            t.add(refusedCase("split-nested-repetition", with("pre_tokenizer", split("(\\w+\\s?)+$")),
                    "pre_tokenizer.pattern.Regex: '(\\w+\\s?)+$' repeats a group that itself repeats"));
            t.add(refusedCase("split-counted-alternation", with("pre_tokenizer", split("(?:ab|a){2,}c")),
                    "nested repetition"));
            t.add(refusedCase("split-back-reference", with("pre_tokenizer", split("(a)\\1")), "back-reference"));
            t.add(refusedCase("strip-decoder-stop", with("decoder", Crafted.JSON.createObjectNode().put("type", "Strip")
                    .put("content", " ").put("start", 0).put("stop", 3)), "decoder.stop: expected 0"));
            ObjectNode wordPiece = tokenizer();
            ((ObjectNode) wordPiece.get("model")).put("type", "WordPiece");
            t.add(refusedCase("word-piece-model", wordPiece, "model.type: 'WordPiece' is not supported; expected BPE"));
            t.add(refusedCase("unknown-normalizer", with("normalizer", Crafted.JSON.createObjectNode()
                    .put("type", "Frobnicate")), "normalizer.type: 'Frobnicate' is not supported"));
            ObjectNode deep = Crafted.JSON.createObjectNode().put("type", "Lowercase");
            for (int i = 0; i < 20; i++) {
                ObjectNode s = Crafted.JSON.createObjectNode().put("type", "Sequence");
                s.putArray("normalizers").add(deep);
                deep = s;
            }
            t.add(refusedCase("sequences-twenty-deep", with("normalizer", deep), "nested more than 8 deep"));
            ObjectNode emptyAdded = tokenizer();
            ((ObjectNode) emptyAdded.get("added_tokens").get(0)).put("content", "");
            t.add(refusedCase("empty-added-token", emptyAdded, "added_tokens[0].content: is empty"));
            ObjectNode wrapsId = tokenizer();
            ((ObjectNode) wrapsId.get("model").get("vocab")).put("zz", 4294967297L);
            t.add(refusedCase("vocabulary-id-beyond-int", wrapsId, "model.vocab.zz: expected an id"));
            ObjectNode unknownKey = tokenizer();
            unknownKey.put("surprise", 1);
            t.add(refusedCase("unknown-top-level-key", unknownKey, "surprise: unknown key"));
            t.add(new TokenizerCase("trailing-garbage", tokenizer() + " x", null, "not valid JSON"));
            t.add(new TokenizerCase("control-byte-level-bpe", tokenizer().toString(), "hello ab ab", null));
            t.add(new TokenizerCase("control-gpt2-split-regex", with("pre_tokenizer", split(
                    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")).toString(),
                    " ".repeat(100_000) + "hello", null));

            Path kindDir = ROOT.resolve("tokenizer");
            deleteTree(kindDir);
            Files.createDirectories(kindDir);
            List<String> dirs = new ArrayList<>();
            for (TokenizerCase c : t) {
                Path d = Files.createDirectories(kindDir.resolve(c.name()));
                Files.writeString(d.resolve(TextTokenizer.TOKENIZER_FILE), c.json());
                if (c.prompt() != null) {
                    Files.writeString(d.resolve("prompt.txt"), c.prompt());
                }
                dirs.add(d.toString());
            }
            Path fifoCase = Files.createDirectories(kindDir.resolve("a-fifo"));
            Crafted.fifo(fifoCase.resolve(TextTokenizer.TOKENIZER_FILE));
            dirs.add(fifoCase.toString());
            Map<String, String> outcome = probe(dirs);

            List<Case> cases = new ArrayList<>();
            for (TokenizerCase c : t) {
                cases.add(c.fragment() == null
                        ? holds(c.name(), d -> assertThat(outcome.get(c.name())).as(c.name()).startsWith("ACCEPTED"))
                        : refusedElsewhere(c.name(), d -> assertThat(outcome.get(c.name())).as(c.name())
                                .startsWith("REFUSED CheckpointException: ").contains(c.fragment(), "tokenizer.json")));
            }
            cases.add(refusedElsewhere("a-fifo", d -> assertThat(outcome.get("a-fifo")).as("a-fifo")
                    .startsWith("REFUSED CheckpointException: ").contains("tokenizer.json: not a regular file")));
            cases.add(refused("vocab-json-trailing-garbage", CKPT, d -> TextTokenizer.fromVocabAndMerges(
                    Files.writeString(d.resolve(TextTokenizer.VOCAB_FILE), "{\"a\": 0, \"b\": 1} {}"),
                    Files.writeString(d.resolve(TextTokenizer.MERGES_FILE), "a b\n")).close(), "vocab.json",
                    "not valid JSON"));
            cases.add(refused("vocab-json-id-beyond-int", CKPT, d -> TextTokenizer.fromVocabAndMerges(
                    Files.writeString(d.resolve(TextTokenizer.VOCAB_FILE), "{\"a\": 0, \"b\": 4294967297}"),
                    Files.writeString(d.resolve(TextTokenizer.MERGES_FILE), "a b\n")).close(), "vocab.json",
                    "token 'b' has id 4294967297"));
            cases.add(refused("text-beyond-the-limit", IllegalArgumentException.class, d -> {
                Path file = Files.writeString(d.resolve(TextTokenizer.TOKENIZER_FILE), tokenizer().toString());
                try (TextTokenizer tok = TextTokenizer.fromTokenizerJson(file)) {
                    tok.encode("a".repeat(TextTokenizer.MAX_TEXT_CHARS + 1));
                }
            }, "text: 4194305 chars, above the limit of 4194304"));
            return run("tokenizer", cases);
        }

        /** Runs every case in one child JVM; a case that kills it is named by the last CASE line. */
        private static Map<String, String> probe(List<String> dirs) throws Exception {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                    .toString(), "-Xmx512m", "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), TokenizerProbe.class.getName()));
            command.addAll(dirs);
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            Map<String, String> outcome = new LinkedHashMap<>();
            List<String> log = new ArrayList<>();
            String current = null;
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    log.add(line);
                    if (line.startsWith("CASE ")) {
                        current = line.substring(5);
                    } else if (current != null && (line.startsWith("ACCEPTED") || line.startsWith("REFUSED"))) {
                        outcome.put(current, line);
                        current = null;
                    }
                }
            }
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("the tokenizer probe ended").isTrue();
            if (p.exitValue() != 0) {
                throw new AssertionError("the tokenizer probe died with exit " + p.exitValue() + " during case "
                        + current + " (a native panic aborts the JVM); its output:\n"
                        + String.join("\n", log.subList(Math.max(0, log.size() - 30), log.size())));
            }
            return outcome;
        }
    }

    // ------------------------------------------------------------------------------------------------ saved states

    @Nested
    class StateFiles {
        private static byte[] smallState(long position) {
            HostTensor window = HostTensor.of(new double[] {1, 2, 3, 4, 5, 6}, Shape.of(1, 2, 3), DType.F32);
            return StateFormat.encode(List.of(new StateSnapshot(StateSnapshot.Kind.CONV, position, List.of(),
                    List.of(new StateSnapshot.Entry("window", window)))));
        }

        @TestFactory
        Stream<DynamicTest> savedStatesAreValidatedAndSpecialFilesRefused() throws IOException {
            List<Case> cases = new ArrayList<>();
            cases.add(refused("position-long-max-valid-crc", STATE, dir -> StateFormat.load(Files.write(
                    dir.resolve("s.b4jstate"), Crafted.forgePosition(smallState(3), Long.MAX_VALUE))),
                    "position 9223372036854775807 outside 0..9007199254740992", "checksum is valid"));
            cases.add(refused("position-beyond-2-53-valid-crc", STATE, dir -> StateFormat.load(Files.write(
                    dir.resolve("s.b4jstate"), Crafted.forgePosition(smallState(3), StateFormat.MAX_POSITION + 1))),
                    "position 9007199254740993 outside"));
            cases.add(refused("negative-position-valid-crc", STATE, dir -> StateFormat.load(Files.write(
                    dir.resolve("s.b4jstate"), Crafted.forgePosition(smallState(3), -1))), "position -1 outside"));
            cases.add(refused("a-fifo", STATE, dir -> StateFormat.load(Crafted.fifo(dir.resolve("s.b4jstate"))),
                    "is not a regular file"));
            cases.add(refused("dev-zero", STATE, dir -> StateFormat.load(Crafted.devZero(dir.resolve("s.b4jstate"))),
                    "is not a regular file"));
            cases.add(refused("a-directory", STATE, dir -> StateFormat.load(dir), "is not a regular file"));
            cases.add(refused("sparse-beyond-the-heap", STATE, dir -> StateFormat.load(Crafted.sparse(
                    dir.resolve("s.b4jstate"), 3L << 30, (byte) 'B')), "above the", "refused before reading it"));
            cases.add(refused("an-endless-stream", STATE, dir -> StateFormat.read(new InputStream() {
                @Override
                public int read() {
                    return 0;
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    Arrays.fill(b, off, off + len, (byte) 0);
                    return len;
                }
            }), "the stream holds more than", "read no further"));
            cases.add(refused("snapshot-position-beyond-2-53", IllegalArgumentException.class,
                    dir -> new StateSnapshot(StateSnapshot.Kind.CONV, StateFormat.MAX_POSITION + 1, List.of(),
                            List.of()), "position: expected 0..9007199254740992"));
            cases.add(refused("decode-past-the-largest-position", IllegalArgumentException.class, dir -> {
                try (Backend b = Backends.select("cpu");
                        LinearAttentionState fresh = LinearAttentionState.zeros(b, 1, 1, 73, 4, DType.F32)) {
                    StateSnapshot s = fresh.snapshot();
                    StateSnapshot last = new StateSnapshot(s.kind(), StateFormat.MAX_POSITION, s.meta(), s.tensors());
                    try (LinearAttentionState st = LinearAttentionState.restore(b, last, DType.F32);
                            Tensor q = b.upload(HostTensor.of(new double[8], Shape.of(1, 1, 1, 8), DType.F32));
                            Tensor v = b.upload(HostTensor.of(new double[4], Shape.of(1, 1, 1, 4), DType.F32));
                            Tensor y = b.linearAttentionDecode(new dev.based4j.attention.LinearAttentionSpec(
                                    new dev.based4j.featuremap.Taylor(8), 1e-12,
                                    dev.based4j.attention.PrefillAlgorithm.AUTO,
                                    dev.based4j.attention.LinearAttentionSpec.DEFAULT_CHUNK, false), q, q, v, st)) {
                        y.shape();
                    }
                }
            }, "would pass the largest position 9007199254740992"));
            return run("state", cases);
        }
    }

    // ------------------------------------------------------------------------------------------------ golden cases

    @Nested
    class GoldenCases {
        private static String swa(String qShape, String config) {
            return """
                    {"name": "swa", "op": "sliding_window_attn", "byte_order": "little", "config": %s,
                     "tensors": {
                       "q": {"role": "input", "shape": %s, "dtype": "float32", "file": "q.f32"},
                       "k": {"role": "input", "shape": [1, 3, 1, 4], "dtype": "float32", "file": "k.f32"},
                       "v": {"role": "input", "shape": [1, 3, 1, 4], "dtype": "float32", "file": "v.f32"},
                       "o": {"role": "output", "shape": [1, 3, 1, 4], "dtype": "float32", "file": "o.f32"}}}
                    """.formatted(config, qShape);
        }

        private static Map<String, Integer> swaFiles(int qBytes) {
            return Map.of("q.f32", qBytes, "k.f32", 48, "v.f32", 48, "o.f32", 48);
        }

        private static Case golden(String name, String caseJson, Map<String, Integer> files, String... fragments) {
            return refused(name, GOLDEN, dir -> GoldenSet.load(Crafted.golden(dir, caseJson, files)), fragments);
        }

        @TestFactory
        Stream<DynamicTest> goldenInputsAreBudgetedAndMalformedOnesAreFormatErrors() throws IOException {
            List<Case> cases = new ArrayList<>();
            cases.add(golden("window-size-33554430", swa("[1, 3, 1, 4]", "{\"window_size\": 33554430}"),
                    swaFiles(48), "the window ring of lookback 16777215", "above the budget"));
            cases.add(golden("rank1-window", swa("[12]", "{\"window_size\": 4}"), swaFiles(48),
                    "tensor 'q': shape [12] has rank 1, sliding_window_attn expects rank 4"));
            cases.add(golden("overflowing-shape", swa("[2147483647, 2147483647, 2147483647, 1]",
                    "{\"window_size\": 4}"), swaFiles(48), "more elements than a 64-bit count holds"));
            cases.add(golden("a-4-tib-tensor", swa("[1048576, 1048576, 1, 1]", "{\"window_size\": 4}"), swaFiles(48),
                    "1099511627776 elements", "one array"));
            cases.add(golden("dimension-beyond-int", swa("[1, 4294967297, 1, 4]", "{\"window_size\": 4}"),
                    swaFiles(48), "expected an integer in [1, 2147483647]"));
            cases.add(golden("config-integer-beyond-int", swa("[1, 3, 1, 4]", "{\"window_size\": 4294967297}"),
                    swaFiles(48), "config needs integer 'window_size'", "4294967297"));
            cases.add(golden("negative-lookback", swa("[1, 3, 1, 4]", "{\"window_left\": -3}"), swaFiles(48),
                    "window_left -3 gives a negative lookback"));
            cases.add(golden("trailing-garbage", swa("[1, 3, 1, 4]", "{\"window_size\": 4}") + " }", swaFiles(48),
                    "is not valid JSON"));
            cases.add(refused("case-json-3-gib", GOLDEN, dir -> {
                Crafted.golden(dir, "{}", Map.of());
                Files.delete(dir.resolve("case.json"));
                Crafted.sparse(dir.resolve("case.json"), 3L << 30, (byte) '{');
                GoldenSet.load(dir);
            }, "3221225472 bytes, above the limit of 1048576"));
            cases.add(refused("case-json-a-fifo", GOLDEN, dir -> {
                Crafted.fifo(Files.createDirectories(dir.resolve("fifo-case")).resolve("case.json"));
                GoldenSet.load(dir);
            }, "holds no case"));
            cases.add(refused("tiny-lm-token-beyond-the-vocabulary", GOLDEN, dir -> {
                ObjectNode c = Crafted.copyBundledGolden("lm_tiny_b2l20", dir);
                Files.write(dir.resolve(c.get("tensors").get("input_ids").get("file").asText()),
                        ByteBuffer.allocate(4 * 40).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1_000_000).array());
                GoldenSet.load(dir);
            }, "tensor 'input_ids': element 0 is 1000000, expected a token id in [0, 104)"));
            cases.add(refused("tiny-lm-layers-beyond-int", GOLDEN, dir -> {
                ObjectNode c = Crafted.copyBundledGolden("lm_tiny_b2l20", dir);
                ((ObjectNode) c.get("config")).put("n_layer", 4294967297L);
                Files.writeString(dir.resolve("case.json"), c.toString());
                GoldenSet.load(dir);
            }, "n_layer: expected an integer in", "4294967297"));
            cases.add(holds("an-infinite-expected-value-hides-no-neighbour", dir -> {
                Files.writeString(dir.resolve("case.json"), """
                        {"name": "identity_inf", "op": "feature_map", "byte_order": "little",
                         "config": {"feature_map": "Identity", "input_dim": 4, "temp": 1.0},
                         "tensors": {
                           "x": {"role": "input", "shape": [1, 1, 1, 4], "dtype": "float32", "file": "x.f32"},
                           "phi": {"role": "output", "shape": [1, 1, 1, 4], "dtype": "float64", "file": "phi.f64"}}}
                        """);
                ByteBuffer x = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                ByteBuffer phi = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
                float[] in = {Float.POSITIVE_INFINITY, 1, 2, 3};
                double[] lies = {Double.POSITIVE_INFINITY, 777, -555, 1e9};
                for (int i = 0; i < 4; i++) {
                    x.putFloat(in[i]);
                    phi.putDouble(lies[i]);
                }
                Files.write(dir.resolve("x.f32"), x.array());
                Files.write(dir.resolve("phi.f64"), phi.array());
                try (Backend b = Backends.select("cpu")) {
                    for (var c : GoldenSet.load(dir).conformanceCases()) {
                        CaseResult r = c.run(b, () -> Backends.select("cpu"));
                        assertThat(r.verdict()).as("%s: %s", c.id(), r.message()).isEqualTo(Verdict.FAIL);
                    }
                }
            }));
            return run("golden", cases);
        }
    }

    // ------------------------------------------------------------------------------------------------ sampling

    @Nested
    class Sampling {
        @TestFactory
        Stream<DynamicTest> everyFiniteTemperatureSamplesTheTemperedSoftmax() throws IOException {
            List<Case> cases = new ArrayList<>();
            for (double t : new double[] {1e-320, Double.MIN_VALUE, 1e-300}) {
                cases.add(holds("temperature-" + t + "-is-greedy", dir -> {
                    try (Backend b = Backends.select("cpu");
                            BasedModel m = BasedModel.random(b, BasedConfig.tiny(), 7, DType.F32)) {
                        Generator g = new Generator(m);
                        int[] prompt = {3, 1, 4, 1, 5};
                        int[] greedy = g.generate(prompt, GenerationOptions.greedy(16), null, null).tokens().get(0);
                        int[] tiny = g.generate(prompt, GenerationOptions.greedy(16).withTemperature(t).withSeed(11),
                                null, null).tokens().get(0);
                        assertThat(tiny).as("temperature %s, seed 11", t).containsExactly(greedy);
                    }
                }));
            }
            return run("sampling", cases);
        }
    }
}
