package dev.based4j.model;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The GPT-2 byte-level BPE tokenizer of the BASED models, run by Hugging Face's own tokenizers library (Rust) through
 * DJL's Java binding. Its jar carries the native library for linux-x86_64, linux-aarch64, osx-aarch64 and
 * win-x86_64 and unpacks it into DJL's cache folder ({@code ~/.djl.ai}, or {@code DJL_CACHE_DIR}); on those
 * platforms nothing is downloaded at run time.
 *
 * <p>Reads {@code tokenizer.json}, or {@code vocab.json} + {@code merges.txt} (the older GPT-2 files), from which it
 * builds the equivalent {@code tokenizer.json}: byte-level pre-tokenizer without a prefix space, BPE model,
 * byte-level decoder, and {@code <|endoftext|>} as a special token when the vocabulary has it.
 *
 * <p>Encoding adds no special tokens (GPT-2 adds none) and never truncates or pads. Thread-safe; close it to free
 * the native tokenizer.
 *
 * <p>The native library aborts the whole JVM when it panics, so everything it is handed is checked first: a
 * {@code tokenizer.json} may hold only the components and regular expressions known not to make it panic (the list
 * and the reasons are in {@code TokenizerJsonCheck}; anything else is refused with a {@link CheckpointException}
 * naming the component), the bytes checked are the bytes handed over, and a text to encode (or ids to decode) is at
 * most {@value #MAX_TEXT_CHARS} characters and within the host-memory budget.
 */
public final class TextTokenizer implements AutoCloseable {
    /** The file most checkpoints ship. */
    public static final String TOKENIZER_FILE = "tokenizer.json";
    /** GPT-2's vocabulary file. */
    public static final String VOCAB_FILE = "vocab.json";
    /** GPT-2's merges file. */
    public static final String MERGES_FILE = "merges.txt";
    /** GPT-2's end-of-text token. */
    public static final String END_OF_TEXT = "<|endoftext|>";

    /**
     * The longest text {@link #encode} hands to the native tokenizer, in chars, and the most ids {@link #decode}
     * takes. The native side holds about {@value #NATIVE_BYTES_PER_CHAR} bytes per char of text while it encodes.
     */
    public static final int MAX_TEXT_CHARS = 1 << 22;

    /** Native memory an encoding takes per char of text, at most (measured: about 240). */
    static final long NATIVE_BYTES_PER_CHAR = 512;

    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "false", "truncation", "false", "padding", "false", "modelMaxLength", "100000000");

    private final HuggingFaceTokenizer tokenizer;
    private final String source;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, String source) {
        this.tokenizer = tokenizer;
        this.source = source;
    }

    /**
     * @return whether {@code directory} holds {@code tokenizer.json} or {@code vocab.json} + {@code merges.txt} (of
     *     any kind: {@link #load} refuses one that is not a regular file, naming it)
     */
    public static boolean isPresent(Path directory) {
        return Files.exists(directory.resolve(TOKENIZER_FILE))
                || Files.exists(directory.resolve(VOCAB_FILE)) && Files.exists(directory.resolve(MERGES_FILE));
    }

    /**
     * Loads the tokenizer of a model directory.
     *
     * @throws CheckpointException naming the directory when neither form is there, or the file when it is invalid
     */
    public static TextTokenizer load(Path directory) {
        Objects.requireNonNull(directory, "directory");
        Path json = directory.resolve(TOKENIZER_FILE);
        if (Files.exists(json)) {
            return fromTokenizerJson(json);
        }
        Path vocab = directory.resolve(VOCAB_FILE);
        Path merges = directory.resolve(MERGES_FILE);
        if (Files.exists(vocab) && Files.exists(merges)) {
            return fromVocabAndMerges(vocab, merges);
        }
        throw new CheckpointException(directory + ": no " + TOKENIZER_FILE + " and no " + VOCAB_FILE + " + "
                + MERGES_FILE + "; give the prompt as token ids instead (--prompt-ids)");
    }

    /**
     * Loads a {@code tokenizer.json}.
     *
     * @throws CheckpointException naming the file when it cannot be read or is not a tokenizer, and the component,
     *     key or pattern when it holds one the native tokenizer could panic on (see the class comment)
     */
    public static TextTokenizer fromTokenizerJson(Path file) {
        Objects.requireNonNull(file, "file");
        byte[] bytes = UntrustedFiles.readBytes(file, UntrustedFiles.TOKENIZER_LIMIT);
        UntrustedFiles.decode(file, bytes);
        TokenizerJsonCheck.check(file, bytes);
        // the bytes checked are the bytes handed over: the file is not read a second time
        try (InputStream in = new ByteArrayInputStream(bytes)) {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(in, OPTIONS), file.toString());
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException(file + ": not a usable tokenizer: " + e.getMessage(), e);
        }
    }

    /**
     * Builds the GPT-2 tokenizer from {@code vocab.json} and {@code merges.txt}.
     *
     * @throws CheckpointException naming the file when one cannot be read or is malformed
     */
    public static TextTokenizer fromVocabAndMerges(Path vocabFile, Path mergesFile) {
        Objects.requireNonNull(vocabFile, "vocabFile");
        Objects.requireNonNull(mergesFile, "mergesFile");
        JsonNode vocab;
        List<String> lines;
        try {
            vocab = ConfigJson.MAPPER.readTree(UntrustedFiles.readText(vocabFile, UntrustedFiles.TABLE_LIMIT));
            lines = UntrustedFiles.readText(mergesFile, UntrustedFiles.TABLE_LIMIT).lines().toList();
        } catch (JsonProcessingException e) {
            throw new CheckpointException(vocabFile + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (vocab == null || !vocab.isObject()) {
            throw new CheckpointException(vocabFile + ": expected an object from token to id");
        }
        ObjectNode root = ConfigJson.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        JsonNode eot = vocab.get(END_OF_TEXT);
        if (eot != null && eot.isIntegralNumber() && ConfigJson.exactInt(eot) && eot.asInt() >= 0) {
            ObjectNode t = added.addObject();
            t.put("id", eot.asInt());
            t.put("content", END_OF_TEXT);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", true);
            t.put("special", true);
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", byteLevel(false, true));
        root.set("post_processor", byteLevel(true, false));
        root.set("decoder", byteLevel(true, true));
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "");
        model.put("end_of_word_suffix", "");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode v = model.putObject("vocab");
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isIntegralNumber() || !ConfigJson.exactInt(e.getValue()) || e.getValue().asInt() < 0) {
                throw new CheckpointException(vocabFile + ": token '" + e.getKey() + "' has id " + e.getValue()
                        + ", expected an integer in [0, " + Integer.MAX_VALUE + "]");
            }
            v.put(e.getKey(), e.getValue().asInt());
        }
        ArrayNode merges = model.putArray("merges");
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || i == 0 && line.startsWith("#version")) {
                continue;
            }
            String[] parts = line.split(" ");
            if (parts.length != 2) {
                throw new CheckpointException(mergesFile + ": line " + (i + 1) + " is '" + line
                        + "', expected two tokens separated by one space");
            }
            merges.add(line);
        }
        try (InputStream in = new ByteArrayInputStream(ConfigJson.MAPPER.writeValueAsBytes(root))) {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(in, OPTIONS), vocabFile + " + " + mergesFile);
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException(vocabFile + " + " + mergesFile + ": not a usable tokenizer: " + e.getMessage(),
                    e);
        }
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean trimOffsets) {
        ObjectNode n = ConfigJson.MAPPER.createObjectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", addPrefixSpace);
        n.put("trim_offsets", trimOffsets);
        n.put("use_regex", true);
        return n;
    }

    /**
     * @return the token ids of {@code text} (no special tokens added)
     * @throws IllegalArgumentException when {@code text} is longer than {@value #MAX_TEXT_CHARS} chars or its
     *     encoding would not fit the host-memory budget ({@link MemoryBudget})
     */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        checkLength("text", text.length(), "chars");
        Encoding e = tokenizer.encode(text, false, false);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /**
     * @return the text of {@code ids}; bytes that do not form complete UTF-8 characters become U+FFFD
     * @throws IllegalArgumentException naming the first negative id
     */
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        checkLength("ids", ids.length, "ids");
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0) {
                throw new IllegalArgumentException("ids: element " + i + " is " + ids[i] + ", expected a token id >= 0");
            }
            l[i] = ids[i];
        }
        return tokenizer.decode(l, false);
    }

    /**
     * @return the id of the token spelled {@code token} (for example {@link #END_OF_TEXT}), if it has one
     * @throws IllegalArgumentException when {@code token} is longer than {@value #MAX_TEXT_CHARS} chars
     */
    public OptionalInt tokenId(String token) {
        Objects.requireNonNull(token, "token");
        checkLength("token", token.length(), "chars");
        Encoding e = tokenizer.encode(token, false, false);
        long[] ids = e.getIds();
        return ids.length == 1 && tokenizer.decode(ids, false).equals(token) ? OptionalInt.of((int) ids[0])
                : OptionalInt.empty();
    }

    /** Bounds what is handed to the native tokenizer: by the fixed limit, then by the host-memory budget. */
    private static void checkLength(String name, int length, String unit) {
        if (length > MAX_TEXT_CHARS) {
            throw new IllegalArgumentException(name + ": " + length + " " + unit + ", above the limit of "
                    + MAX_TEXT_CHARS + " handed to the native tokenizer at once; split it");
        }
        long needs = length * NATIVE_BYTES_PER_CHAR;
        long budget = MemoryBudget.hostBytes();
        if (needs > budget) {
            throw new IllegalArgumentException(name + ": " + length + " " + unit + " need up to " + needs
                    + " bytes of native memory to tokenize, above the host-memory budget of " + budget + " bytes ("
                    + MemoryBudget.hostSource() + ")");
        }
    }

    /** @return a decoder that turns generated ids into text piece by piece */
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this);
    }

    /** Frees the native tokenizer. Idempotent. */
    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "TextTokenizer[" + source + "]";
    }

    /**
     * Turns generated token ids into text as they come. A byte-level token may end inside a UTF-8 character; such
     * bytes are held back until the character is complete, so the pieces concatenate to the decoding of all ids.
     */
    public static final class StreamingDecoder {
        private final TextTokenizer tokenizer;
        private final java.util.ArrayList<Integer> pending = new java.util.ArrayList<>();

        private StreamingDecoder(TextTokenizer tokenizer) {
            this.tokenizer = tokenizer;
        }

        /** @return the text that token {@code id} completes (possibly empty) */
        public String push(int id) {
            pending.add(id);
            String text = tokenizer.decode(pending.stream().mapToInt(Integer::intValue).toArray());
            // a trailing U+FFFD is an incomplete character as long as at most 3 bytes (tokens) are pending
            if (text.endsWith("\uFFFD") && pending.size() < 4) {
                return "";
            }
            pending.clear();
            return text;
        }

        /** @return whatever is still held back, decoded as is */
        public String flush() {
            if (pending.isEmpty()) {
                return "";
            }
            String text = tokenizer.decode(pending.stream().mapToInt(Integer::intValue).toArray());
            pending.clear();
            return text;
        }
    }
}
