package dev.based4j.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Checks a {@code tokenizer.json} before Hugging Face's tokenizers library (Rust, through DJL's JNI binding) sees it.
 * A panic in that library crosses the JNI boundary and aborts the whole JVM (exit 134), so nothing that can make it
 * panic may reach it; everything else it refuses with an ordinary error.
 *
 * <h2>What tokenizers 0.21 (the version DJL 0.38 carries) panics on, from its source</h2>
 * <ul>
 *   <li>a {@code Precompiled} normalizer whose {@code precompiled_charsmap} is not a well-formed SentencePiece map:
 *       it is deserialized with {@code expect("Precompiled")};</li>
 *   <li>any regular expression whose search exceeds Oniguruma's retry limit (10⁷ backtracking steps): the
 *       {@code onig} crate panics on every search error. Nested or alternated repetition such as
 *       {@code (a|aa)+$} does this on a prompt of a thousand characters;</li>
 *   <li>a {@code Strip} decoder with {@code stop > 0}: it indexes {@code len − i − 1} past the start of a short
 *       token.</li>
 * </ul>
 *
 * <h2>What is accepted</h2>
 * Only components whose code was read and found free of such panics, each with its known keys of the right types
 * (an unknown key or type is refused, naming its path in the file):
 * <ul>
 *   <li>{@code model}: {@code BPE} (the tokenizer of the BASED models), vocabulary ids in {@code [0, 2³¹)}, merges
 *       as {@code "a b"} or {@code ["a", "b"]}, no dropout (it makes encoding random);</li>
 *   <li>{@code normalizer}: null, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Nmt, ByteLevel, Strip, Prepend,
 *       BertNormalizer, Replace, Sequence;</li>
 *   <li>{@code pre_tokenizer}: null, ByteLevel, Whitespace, WhitespaceSplit, BertPreTokenizer, UnicodeScripts,
 *       Punctuation, Digits, Metaspace, CharDelimiterSplit, Split, Sequence;</li>
 *   <li>{@code decoder}: null, ByteLevel, BPEDecoder, WordPiece, Metaspace, CTC, Fuse, ByteFallback, Replace,
 *       Strip with {@code stop} 0, Sequence;</li>
 *   <li>{@code post_processor}: null, ByteLevel, Sequence (based4j adds no special tokens);</li>
 *   <li>{@code added_tokens} with non-empty content; {@code truncation} and {@code padding} of the documented shape
 *       (based4j switches both off).</li>
 * </ul>
 * Patterns ({@code Split}, {@code Replace}) must be non-empty and at most {@value #MAX_PATTERN_CHARS} characters; a
 * regular expression must not repeat a group that itself repeats or alternates ({@code (a+)+}, {@code (a|aa)*},
 * {@code (\w+\s?){2,}}), nor use back-references: the forms whose backtracking explodes. The tokenizer as a whole
 * may nest sequences at most {@value #MAX_DEPTH} deep.
 */
final class TokenizerJsonCheck {
    /** Longest pattern accepted in {@code Split} and {@code Replace}. */
    static final int MAX_PATTERN_CHARS = 1024;
    /** Deepest nesting of {@code Sequence} components. */
    static final int MAX_DEPTH = 8;

    private static final Set<String> BEHAVIORS = Set.of("Removed", "Isolated", "MergedWithPrevious",
            "MergedWithNext", "Contiguous");

    private final Path file;

    private TokenizerJsonCheck(Path file) {
        this.file = file;
    }

    /**
     * @throws CheckpointException naming the file and the path of the first component, key or value that is not
     *     known to be safe
     */
    static void check(Path file, byte[] bytes) {
        new TokenizerJsonCheck(file).run(bytes);
    }

    private CheckpointException refuse(String path, String what) {
        return new CheckpointException(file + ": " + path + ": " + what);
    }

    private void run(byte[] bytes) {
        try (JsonParser p = ConfigJson.MAPPER.getFactory().createParser(bytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw refuse("(top level)", "expected a JSON object");
            }
            boolean model = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                p.nextToken();
                switch (key) {
                    case "model" -> {
                        model(p);
                        model = true;
                    }
                    case "version" -> text("version", tree(p));
                    case "truncation" -> truncation(tree(p));
                    case "padding" -> padding(tree(p));
                    case "added_tokens" -> addedTokens(tree(p));
                    case "normalizer" -> normalizer("normalizer", tree(p), 0);
                    case "pre_tokenizer" -> preTokenizer("pre_tokenizer", tree(p), 0);
                    case "post_processor" -> postProcessor("post_processor", tree(p), 0);
                    case "decoder" -> decoder("decoder", tree(p), 0);
                    default -> throw refuse(key, "unknown key (known: version, truncation, padding, added_tokens,"
                            + " normalizer, pre_tokenizer, post_processor, decoder, model)");
                }
            }
            if (p.nextToken() != null) {
                throw refuse("(top level)", "content after the JSON object");
            }
            if (!model) {
                throw refuse("model", "missing");
            }
        } catch (JsonProcessingException e) {
            throw new CheckpointException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads one value in the middle of the document (so what follows it is not "trailing"). */
    private static final com.fasterxml.jackson.databind.ObjectReader VALUE = ConfigJson.MAPPER.reader()
            .without(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static JsonNode tree(JsonParser p) throws IOException {
        JsonNode n = VALUE.readTree(p);
        return n == null ? com.fasterxml.jackson.databind.node.NullNode.getInstance() : n;
    }

    // ---------------------------------------------------------------- the model, streamed (its vocabulary is large)

    private void model(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw refuse("model", "expected an object, got " + p.currentToken());
        }
        boolean vocab = false;
        boolean merges = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            String path = "model." + key;
            p.nextToken();
            switch (key) {
                case "type" -> {
                    String type = text(path, tree(p));
                    if (!type.equals("BPE")) {
                        throw refuse(path, "'" + type + "' is not supported; expected BPE (the byte-level BPE of the"
                                + " BASED models)");
                    }
                }
                case "dropout" -> {
                    JsonNode d = tree(p);
                    if (!d.isNull() && !(d.isNumber() && d.asDouble() == 0)) {
                        throw refuse(path, "expected null, got " + d + " (BPE dropout makes encoding random)");
                    }
                }
                case "unk_token", "continuing_subword_prefix", "end_of_word_suffix" -> nullableText(path, tree(p));
                case "fuse_unk", "byte_fallback", "ignore_merges" -> bool(path, tree(p));
                case "vocab" -> {
                    vocab(p);
                    vocab = true;
                }
                case "merges" -> {
                    merges(p);
                    merges = true;
                }
                default -> throw refuse(path, "unknown key of a BPE model");
            }
        }
        if (!vocab || !merges) {
            throw refuse("model", "a BPE model needs 'vocab' and 'merges'");
        }
    }

    private void vocab(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw refuse("model.vocab", "expected an object from token to id, got " + p.currentToken());
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            JsonToken t = p.nextToken();
            if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT
                    || p.getIntValue() < 0) {
                throw refuse("model.vocab." + token, "expected an id in [0, " + Integer.MAX_VALUE + "], got "
                        + p.getText());
            }
        }
    }

    private void merges(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw refuse("model.merges", "expected a list, got " + p.currentToken());
        }
        int i = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken(), i++) {
            String path = "model.merges[" + i + "]";
            if (t == JsonToken.VALUE_STRING) {
                String m = p.getText();
                int space = m.indexOf(' ');
                if (space <= 0 || space == m.length() - 1 || m.indexOf(' ', space + 1) >= 0) {
                    throw refuse(path, "expected two tokens separated by one space, got '" + m + "'");
                }
            } else if (t == JsonToken.START_ARRAY) {
                JsonNode pair = tree(p);
                if (pair.size() != 2 || !pair.get(0).isTextual() || !pair.get(1).isTextual()) {
                    throw refuse(path, "expected a pair of tokens, got " + pair);
                }
            } else {
                throw refuse(path, "expected \"a b\" or [\"a\", \"b\"], got " + t);
            }
        }
    }

    // ---------------------------------------------------------------- components

    /** The type of a component (an object with {@code type}), its keys checked against {@code allowed}. */
    private String type(String path, JsonNode n, Set<String> allowed) {
        if (!n.isObject()) {
            throw refuse(path, "expected null or an object with a 'type', got " + n.getNodeType());
        }
        JsonNode t = n.get("type");
        if (t == null || !t.isTextual()) {
            throw refuse(path, "expected a 'type' naming the component");
        }
        if (!allowed.contains(t.asText())) {
            throw refuse(path + ".type", "'" + t.asText() + "' is not supported"
                    + (t.asText().equals("Precompiled") ? " (a SentencePiece character map: binary data that the"
                            + " native tokenizer parses with a panic, which aborts the JVM, on the first flaw)" : "")
                    + "; supported: " + new TreeSet<>(allowed));
        }
        return t.asText();
    }

    /** Refuses any key of {@code n} other than {@code type} and {@code keys}. */
    private void keys(String path, JsonNode n, String... keys) {
        Set<String> known = new TreeSet<>(List.of(keys));
        known.add("type");
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) {
                throw refuse(path + "." + k, "unknown key of " + n.get("type").asText() + " (known: " + known + ")");
            }
        }
    }

    private void depth(String path, int depth) {
        if (depth > MAX_DEPTH) {
            throw refuse(path, "sequences nested more than " + MAX_DEPTH + " deep");
        }
    }

    private void normalizer(String path, JsonNode n, int depth) {
        depth(path, depth);
        if (n.isNull()) {
            return;
        }
        String type = type(path, n, Set.of("NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents", "Nmt",
                "ByteLevel", "Strip", "Prepend", "BertNormalizer", "Replace", "Sequence"));
        switch (type) {
            case "Strip" -> {
                keys(path, n, "strip_left", "strip_right");
                bool(path + ".strip_left", n.path("strip_left"));
                bool(path + ".strip_right", n.path("strip_right"));
            }
            case "Prepend" -> {
                keys(path, n, "prepend");
                text(path + ".prepend", n.path("prepend"));
            }
            case "BertNormalizer" -> {
                keys(path, n, "clean_text", "handle_chinese_chars", "strip_accents", "lowercase");
                bool(path + ".clean_text", n.path("clean_text"));
                bool(path + ".handle_chinese_chars", n.path("handle_chinese_chars"));
                bool(path + ".lowercase", n.path("lowercase"));
                if (!n.path("strip_accents").isNull() && !n.path("strip_accents").isMissingNode()) {
                    bool(path + ".strip_accents", n.path("strip_accents"));
                }
            }
            case "Replace" -> {
                keys(path, n, "pattern", "content");
                pattern(path + ".pattern", n.path("pattern"));
                text(path + ".content", n.path("content"));
            }
            case "Sequence" -> {
                keys(path, n, "normalizers");
                JsonNode list = array(path + ".normalizers", n.path("normalizers"));
                for (int i = 0; i < list.size(); i++) {
                    normalizer(path + ".normalizers[" + i + "]", list.get(i), depth + 1);
                }
            }
            default -> keys(path, n);
        }
    }

    private void preTokenizer(String path, JsonNode n, int depth) {
        depth(path, depth);
        if (n.isNull()) {
            return;
        }
        String type = type(path, n, Set.of("ByteLevel", "Whitespace", "WhitespaceSplit", "BertPreTokenizer",
                "UnicodeScripts", "Punctuation", "Digits", "Metaspace", "CharDelimiterSplit", "Split", "Sequence"));
        switch (type) {
            case "ByteLevel" -> byteLevel(path, n);
            case "Punctuation" -> {
                keys(path, n, "behavior");
                behavior(path + ".behavior", n.path("behavior"));
            }
            case "Digits" -> {
                keys(path, n, "individual_digits");
                bool(path + ".individual_digits", n.path("individual_digits"));
            }
            case "Metaspace" -> metaspace(path, n);
            case "CharDelimiterSplit" -> {
                keys(path, n, "delimiter");
                character(path + ".delimiter", n.path("delimiter"));
            }
            case "Split" -> {
                keys(path, n, "pattern", "behavior", "invert");
                pattern(path + ".pattern", n.path("pattern"));
                behavior(path + ".behavior", n.path("behavior"));
                bool(path + ".invert", n.path("invert"));
            }
            case "Sequence" -> {
                keys(path, n, "pretokenizers");
                JsonNode list = array(path + ".pretokenizers", n.path("pretokenizers"));
                for (int i = 0; i < list.size(); i++) {
                    preTokenizer(path + ".pretokenizers[" + i + "]", list.get(i), depth + 1);
                }
            }
            default -> keys(path, n);
        }
    }

    private void decoder(String path, JsonNode n, int depth) {
        depth(path, depth);
        if (n.isNull()) {
            return;
        }
        String type = type(path, n, Set.of("ByteLevel", "BPEDecoder", "WordPiece", "Metaspace", "CTC", "Fuse",
                "ByteFallback", "Replace", "Strip", "Sequence"));
        switch (type) {
            case "ByteLevel" -> byteLevel(path, n);
            case "BPEDecoder" -> {
                keys(path, n, "suffix");
                text(path + ".suffix", n.path("suffix"));
            }
            case "WordPiece" -> {
                keys(path, n, "prefix", "cleanup");
                text(path + ".prefix", n.path("prefix"));
                bool(path + ".cleanup", n.path("cleanup"));
            }
            case "Metaspace" -> metaspace(path, n);
            case "CTC" -> {
                keys(path, n, "pad_token", "word_delimiter_token", "cleanup");
                text(path + ".pad_token", n.path("pad_token"));
                text(path + ".word_delimiter_token", n.path("word_delimiter_token"));
                bool(path + ".cleanup", n.path("cleanup"));
            }
            case "Replace" -> {
                keys(path, n, "pattern", "content");
                pattern(path + ".pattern", n.path("pattern"));
                text(path + ".content", n.path("content"));
            }
            case "Strip" -> {
                keys(path, n, "content", "start", "stop");
                character(path + ".content", n.path("content"));
                count(path + ".start", n.path("start"));
                if (count(path + ".stop", n.path("stop")) != 0) {
                    throw refuse(path + ".stop", "expected 0, got " + n.get("stop") + " (the native Strip decoder"
                            + " indexes before the start of a token shorter than stop, a panic that aborts the JVM)");
                }
            }
            case "Sequence" -> {
                keys(path, n, "decoders");
                JsonNode list = array(path + ".decoders", n.path("decoders"));
                for (int i = 0; i < list.size(); i++) {
                    decoder(path + ".decoders[" + i + "]", list.get(i), depth + 1);
                }
            }
            default -> keys(path, n);
        }
    }

    private void postProcessor(String path, JsonNode n, int depth) {
        depth(path, depth);
        if (n.isNull()) {
            return;
        }
        String type = type(path, n, Set.of("ByteLevel", "Sequence"));
        if (type.equals("ByteLevel")) {
            byteLevel(path, n);
        } else {
            keys(path, n, "processors");
            JsonNode list = array(path + ".processors", n.path("processors"));
            for (int i = 0; i < list.size(); i++) {
                postProcessor(path + ".processors[" + i + "]", list.get(i), depth + 1);
            }
        }
    }

    private void byteLevel(String path, JsonNode n) {
        keys(path, n, "add_prefix_space", "trim_offsets", "use_regex");
        for (String k : List.of("add_prefix_space", "trim_offsets", "use_regex")) {
            if (n.has(k)) {
                bool(path + "." + k, n.get(k));
            }
        }
    }

    private void metaspace(String path, JsonNode n) {
        keys(path, n, "replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep");
        character(path + ".replacement", n.path("replacement"));
        if (n.has("prepend_scheme")) {
            oneOf(path + ".prepend_scheme", n.get("prepend_scheme"), Set.of("first", "never", "always"));
        }
        for (String k : List.of("split", "add_prefix_space")) {
            if (n.has(k)) {
                bool(path + "." + k, n.get(k));
            }
        }
        if (n.has("str_rep")) {
            text(path + ".str_rep", n.get("str_rep"));
        }
    }

    private void behavior(String path, JsonNode n) {
        oneOf(path, n, BEHAVIORS);
    }

    private void addedTokens(JsonNode list) {
        if (list.isNull()) {
            return;
        }
        array("added_tokens", list);
        for (int i = 0; i < list.size(); i++) {
            String path = "added_tokens[" + i + "]";
            JsonNode t = list.get(i);
            if (!t.isObject()) {
                throw refuse(path, "expected an object, got " + t.getNodeType());
            }
            for (Iterator<String> it = t.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!Set.of("id", "content", "single_word", "lstrip", "rstrip", "normalized", "special").contains(k)) {
                    throw refuse(path + "." + k, "unknown key of an added token");
                }
            }
            count(path + ".id", t.path("id"));
            if (text(path + ".content", t.path("content")).isEmpty()) {
                throw refuse(path + ".content", "is empty (an empty token matches everywhere)");
            }
            for (String k : List.of("single_word", "lstrip", "rstrip", "normalized", "special")) {
                if (t.has(k)) {
                    bool(path + "." + k, t.get(k));
                }
            }
        }
    }

    private void truncation(JsonNode n) {
        if (n.isNull()) {
            return;
        }
        if (!n.isObject()) {
            throw refuse("truncation", "expected null or an object, got " + n.getNodeType());
        }
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            String path = "truncation." + e.getKey();
            switch (e.getKey()) {
                case "max_length", "stride" -> count(path, e.getValue());
                case "strategy" -> oneOf(path, e.getValue(), Set.of("LongestFirst", "OnlyFirst", "OnlySecond"));
                case "direction" -> oneOf(path, e.getValue(), Set.of("Left", "Right"));
                default -> throw refuse(path, "unknown key of truncation");
            }
        }
    }

    private void padding(JsonNode n) {
        if (n.isNull()) {
            return;
        }
        if (!n.isObject()) {
            throw refuse("padding", "expected null or an object, got " + n.getNodeType());
        }
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            String path = "padding." + e.getKey();
            switch (e.getKey()) {
                case "strategy" -> {
                    JsonNode s = e.getValue();
                    boolean fixed = s.isObject() && s.size() == 1 && s.has("Fixed") && ConfigJson.exactInt(s.get("Fixed"))
                            && s.get("Fixed").asInt() >= 1;
                    if (!fixed && !(s.isTextual() && s.asText().equals("BatchLongest"))) {
                        throw refuse(path, "expected \"BatchLongest\" or {\"Fixed\": n}, got " + s);
                    }
                }
                case "direction" -> oneOf(path, e.getValue(), Set.of("Left", "Right"));
                case "pad_to_multiple_of" -> {
                    if (!e.getValue().isNull() && count(path, e.getValue()) < 1) {
                        throw refuse(path, "expected null or >= 1, got " + e.getValue());
                    }
                }
                case "pad_id", "pad_type_id" -> count(path, e.getValue());
                case "pad_token" -> text(path, e.getValue());
                default -> throw refuse(path, "unknown key of padding");
            }
        }
    }

    // ---------------------------------------------------------------- patterns

    /** A {@code {"String": s}} or {@code {"Regex": r}} pattern. */
    private void pattern(String path, JsonNode n) {
        if (!n.isObject() || n.size() != 1 || !(n.has("String") || n.has("Regex"))) {
            throw refuse(path, "expected {\"String\": text} or {\"Regex\": expression}, got " + n);
        }
        boolean regex = n.has("Regex");
        String kind = regex ? "Regex" : "String";
        String p = text(path + "." + kind, n.get(kind));
        if (p.isEmpty()) {
            throw refuse(path + "." + kind, "is empty (an empty pattern matches between every two characters)");
        }
        if (p.length() > MAX_PATTERN_CHARS) {
            throw refuse(path + "." + kind, p.length() + " characters, above the limit of " + MAX_PATTERN_CHARS);
        }
        if (regex) {
            String problem = regexProblem(p);
            if (problem != null) {
                throw refuse(path + ".Regex", "'" + p + "' " + problem + ": its backtracking can exceed the native"
                        + " regex engine's limit on a long prompt, a panic that aborts the JVM");
            }
        }
    }

    /** Per open group: whether it holds a repetition or an alternation so far. */
    private static final class Group {
        boolean repeats;
        boolean alternates;
    }

    /**
     * @return why an Oniguruma pattern is refused, or null: a back-reference, or a repeated group whose body repeats
     *     or alternates (the forms whose backtracking grows exponentially or polynomially with the input)
     */
    static String regexProblem(String p) {
        Deque<Group> open = new ArrayDeque<>();
        open.push(new Group());
        Group closed = null; // the group that ended just before i, if the previous atom was a group
        int i = 0;
        while (i < p.length()) {
            char c = p.charAt(i);
            Group justClosed = null;
            switch (c) {
                case '\\' -> {
                    if (i + 1 >= p.length()) {
                        return "ends with a lone backslash";
                    }
                    char e = p.charAt(i + 1);
                    if (e >= '1' && e <= '9' || e == 'k' || e == 'g') {
                        return "uses a back-reference or subexpression call (\\" + e + ")";
                    }
                    i += 2;
                    // p{..}, x{..}, o{..} after a backslash: skip the braces
                    if (i < p.length() && p.charAt(i) == '{' && "pPxuo".indexOf(e) >= 0) {
                        int end = p.indexOf('}', i);
                        i = end < 0 ? p.length() : end + 1;
                    }
                }
                case '[' -> i = endOfClass(p, i);
                case '(' -> {
                    open.push(new Group());
                    i++;
                    if (i < p.length() && p.charAt(i) == '?') {
                        // (?:  (?=  (?!  (?<=  (?<!  (?>  (?i:  (?<name>: the group's own syntax, not a quantifier
                        i++;
                        if (i < p.length() && p.charAt(i) == 'P') {
                            return "uses a named back-reference or call ((?P...)";
                        }
                        while (i < p.length() && p.charAt(i) != ':' && p.charAt(i) != ')' && "=!>".indexOf(p.charAt(i)) < 0
                                && p.charAt(i) != '<' && p.charAt(i) != '\'') {
                            i++;
                        }
                        if (i < p.length() && p.charAt(i) == '<') {
                            i++;
                            if (i < p.length() && (p.charAt(i) == '=' || p.charAt(i) == '!')) {
                                i++;
                            } else {
                                int end = p.indexOf('>', i);
                                i = end < 0 ? p.length() : end + 1;
                            }
                        } else if (i < p.length() && p.charAt(i) != ')') {
                            i++;
                        }
                    }
                }
                case ')' -> {
                    if (open.size() == 1) {
                        return "has an unbalanced ')'";
                    }
                    justClosed = open.pop();
                    Group parent = open.peek();
                    parent.repeats |= justClosed.repeats;
                    i++;
                }
                case '|' -> {
                    open.peek().alternates = true;
                    i++;
                }
                case '*', '+', '?', '{' -> {
                    int end = i + 1;
                    boolean repeating = c != '?';
                    if (c == '{') {
                        int close = p.indexOf('}', i);
                        String body = close < 0 ? "" : p.substring(i + 1, close);
                        if (!body.matches("\\d*(,\\d*)?") || body.isEmpty()) {
                            i++; // a literal '{'
                            break;
                        }
                        end = close + 1;
                        String[] parts = body.split(",", -1);
                        repeating = parts.length == 2 ? !(parts[1].equals("0") || parts[1].equals("1"))
                                : !(parts[0].equals("0") || parts[0].equals("1"));
                    }
                    if (repeating && closed != null && (closed.repeats || closed.alternates)) {
                        return "repeats a group that itself " + (closed.repeats ? "repeats" : "alternates")
                                + " (nested repetition)";
                    }
                    if (repeating) {
                        open.peek().repeats = true;
                    }
                    i = end;
                    // a lazy or possessive modifier belongs to this quantifier
                    if (i < p.length() && (p.charAt(i) == '?' || p.charAt(i) == '+')) {
                        i++;
                    }
                }
                default -> i++;
            }
            closed = justClosed;
        }
        if (open.size() != 1) {
            return "has an unbalanced '('";
        }
        return null;
    }

    /** @return the index after the character class that starts at {@code start} (nested classes included) */
    private static int endOfClass(String p, int start) {
        int depth = 0;
        int i = start;
        while (i < p.length()) {
            char c = p.charAt(i);
            if (c == '\\') {
                i += 2;
                continue;
            }
            if (c == '[') {
                depth++;
                i++;
                // a ']' right after '[' or '[^' is a literal
                if (i < p.length() && p.charAt(i) == '^') {
                    i++;
                }
                if (i < p.length() && p.charAt(i) == ']') {
                    i++;
                }
                continue;
            }
            if (c == ']') {
                depth--;
                if (depth == 0) {
                    return i + 1;
                }
            }
            i++;
        }
        return p.length();
    }

    // ---------------------------------------------------------------- values

    private String text(String path, JsonNode n) {
        if (!n.isTextual()) {
            throw refuse(path, "expected a string, got " + (n.isMissingNode() ? "nothing" : n.toString()));
        }
        return n.asText();
    }

    private void nullableText(String path, JsonNode n) {
        if (!n.isNull()) {
            text(path, n);
        }
    }

    private void character(String path, JsonNode n) {
        String s = text(path, n);
        if (s.codePointCount(0, s.length()) != 1) {
            throw refuse(path, "expected one character, got '" + s + "'");
        }
    }

    private void bool(String path, JsonNode n) {
        if (!n.isBoolean()) {
            throw refuse(path, "expected true or false, got " + (n.isMissingNode() ? "nothing" : n.toString()));
        }
    }

    private int count(String path, JsonNode n) {
        if (!ConfigJson.exactInt(n) || n.asInt() < 0) {
            throw refuse(path, "expected an integer in [0, " + Integer.MAX_VALUE + "], got "
                    + (n.isMissingNode() ? "nothing" : n.toString()));
        }
        return n.asInt();
    }

    private JsonNode array(String path, JsonNode n) {
        if (!n.isArray()) {
            throw refuse(path, "expected a list, got " + (n.isMissingNode() ? "nothing" : n.getNodeType().toString()));
        }
        return n;
    }

    private void oneOf(String path, JsonNode n, Set<String> values) {
        if (!n.isTextual() || !values.contains(n.asText())) {
            throw refuse(path, "expected one of " + new TreeSet<>(values) + ", got " + n);
        }
    }
}
