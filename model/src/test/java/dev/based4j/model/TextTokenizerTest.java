package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A small GPT-2-style byte-level BPE written by the test: the 256 byte tokens, a few merges and end-of-text. */
class TextTokenizerTest {
    static final String[][] MERGES = {{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"l", "l"}, {"e", "ll"}, {"ell", "o"},
            {"h", "ello"}, {"Ġ", "w"}};

    @TempDir
    static Path dir;

    static Map<String, Integer> vocab;

    /** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256+n. */
    static String[] byteChars() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bs.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            bs.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            bs.add(b);
        }
        String[] out = new String[256];
        for (int b : bs) {
            out[b] = Character.toString(b);
        }
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (out[b] == null) {
                out[b] = Character.toString(256 + n++);
            }
        }
        return out;
    }

    @BeforeAll
    static void writeFiles() throws IOException {
        String[] chars = byteChars();
        vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(chars[b], b);
        }
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        for (String[] m : MERGES) {
            vocab.put(m[0] + m[1], vocab.size());
            merges.append(m[0]).append(' ').append(m[1]).append('\n');
        }
        vocab.put(TextTokenizer.END_OF_TEXT, vocab.size());
        ObjectMapper json = new ObjectMapper();
        Path gpt2 = Files.createDirectories(dir.resolve("gpt2-files"));
        Files.writeString(gpt2.resolve(TextTokenizer.VOCAB_FILE), json.writeValueAsString(vocab));
        Files.writeString(gpt2.resolve(TextTokenizer.MERGES_FILE), merges.toString());
        // tokenizer.json as Hugging Face writes it for GPT-2
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        ObjectNode eot = root.putArray("added_tokens").addObject();
        eot.put("id", vocab.get(TextTokenizer.END_OF_TEXT)).put("content", TextTokenizer.END_OF_TEXT)
                .put("single_word", false).put("lstrip", false).put("rstrip", false).put("normalized", true)
                .put("special", true);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.putObject("post_processor").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", false).put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true).put("trim_offsets", true)
                .put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").putNull("dropout");
        model.putNull("unk_token");
        model.put("continuing_subword_prefix", "").put("end_of_word_suffix", "").put("fuse_unk", false)
                .put("byte_fallback", false);
        model.set("vocab", json.valueToTree(vocab));
        var m = model.putArray("merges");
        for (String[] mm : MERGES) {
            m.add(mm[0] + " " + mm[1]);
        }
        Path hf = Files.createDirectories(dir.resolve("hf"));
        Files.writeString(hf.resolve(TextTokenizer.TOKENIZER_FILE), json.writeValueAsString(root));
    }

    @Test
    void encodesWithTheMergesByRank() {
        try (TextTokenizer t = TextTokenizer.load(dir.resolve("hf"))) {
            // "hello" → he, ll, o (h+ello is never reached: e+ll is blocked once h+e merged); " the" → Ġthe
            assertThat(t.encode("hello the world")).containsExactly(vocab.get("he"), vocab.get("ll"), 'o',
                    vocab.get("Ġthe"), vocab.get("Ġw"), 'o', 'r', 'l', 'd');
        }
    }

    @Test
    void decodesBackToTheText() {
        String text = "hello the wörld — ünïcode ✓ 日本\n\ttabs";
        try (TextTokenizer t = TextTokenizer.load(dir.resolve("hf"))) {
            assertThat(t.decode(t.encode(text))).isEqualTo(text);
        }
    }

    @Test
    void vocabAndMergesGiveTheSameIdsAsTokenizerJson() {
        String text = "the hello, the end<|endoftext|> ünï";
        try (TextTokenizer a = TextTokenizer.load(dir.resolve("hf"));
                TextTokenizer b = TextTokenizer.load(dir.resolve("gpt2-files"))) {
            assertThat(b.encode(text)).containsExactly(a.encode(text));
            assertThat(a.encode(text)).contains(vocab.get(TextTokenizer.END_OF_TEXT));
            assertThat(b.tokenId(TextTokenizer.END_OF_TEXT)).hasValue(vocab.get(TextTokenizer.END_OF_TEXT));
        }
    }

    @Test
    void longTextIsNotTruncated() {
        String text = " the".repeat(5000);
        try (TextTokenizer t = TextTokenizer.load(dir.resolve("hf"))) {
            int[] ids = t.encode(text);
            assertThat(ids.length).as("one Ġthe per word").isEqualTo(5000);
            assertThat(ids[4999]).isEqualTo(vocab.get("Ġthe"));
        }
    }

    @Test
    void streamingPiecesConcatenateToTheWholeText() {
        String text = "hello ✓ wörld 日本";
        try (TextTokenizer t = TextTokenizer.load(dir.resolve("hf"))) {
            int[] ids = t.encode(text);
            TextTokenizer.StreamingDecoder d = t.streamingDecoder();
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                String piece = d.push(id);
                assertThat(piece).as("no piece ends in a broken character").doesNotContain("\uFFFD");
                sb.append(piece);
            }
            sb.append(d.flush());
            assertThat(sb.toString()).isEqualTo(text);
        }
    }

    @Test
    void aDirectoryWithoutTokenizerSaysWhatToDo() {
        assertThatThrownBy(() -> TextTokenizer.load(dir.resolve("nothing-here")))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("--prompt-ids");
    }
}
