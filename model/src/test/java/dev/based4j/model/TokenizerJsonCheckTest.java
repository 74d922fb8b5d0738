package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The check every tokenizer.json passes before the native tokenizer, which aborts the JVM when it panics, sees it. */
class TokenizerJsonCheckTest {
    private static final Path FILE = Path.of("tokenizer.json");

    private static void check(String json) {
        TokenizerJsonCheck.check(FILE, json.getBytes(StandardCharsets.UTF_8));
    }

    private static String withPreTokenizer(String component) {
        return "{\"version\": \"1.0\", \"pre_tokenizer\": " + component + ", \"model\": {\"type\": \"BPE\","
                + " \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}}";
    }

    @Nested
    class RegularExpressions {
        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "(ab|cd)?x", "(a+)?b", "[(+*)]+", "\\(a+\\)+", "(?<word>\\w+) ", "a{2,5}", "x{", "(?:ab)+", "(?=a|b)c"})
        void theFormsOfRealTokenizersAreAccepted(String regex) {
            assertThat(TokenizerJsonCheck.regexProblem(regex)).as(regex).isNull();
        }

        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"(a|aa)+$", "(a+)+b", "(\\w+\\s?)+$", "(?:a|b)*c", "((a)+b)*", "(a*){2,}",
            "(x+x+)+y", "(?:ab|a){3,9}c"})
        void nestedOrAlternatedRepetitionIsRefused(String regex) {
            assertThat(TokenizerJsonCheck.regexProblem(regex)).as(regex).contains("nested repetition");
        }

        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"(a)\\1", "(?<x>a)\\k<x>", "(a)\\g<1>"})
        void backReferencesAreRefused(String regex) {
            assertThat(TokenizerJsonCheck.regexProblem(regex)).as(regex).contains("back-reference");
        }

        @Test
        void unbalancedGroupsAreRefused() {
            assertThat(TokenizerJsonCheck.regexProblem("(a")).contains("unbalanced");
            assertThat(TokenizerJsonCheck.regexProblem("a)")).contains("unbalanced");
        }
    }

    @Nested
    class Components {
        @Test
        void aGpt2TokenizerPasses() {
            check(withPreTokenizer("{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true,"
                    + " \"use_regex\": true}"));
        }

        @Test
        void aModelWithoutATypeIsReadAsBpe() {
            check("{\"model\": {\"dropout\": null, \"vocab\": {\"a\": 0}, \"merges\": []}}");
        }

        @Test
        void anUnknownKeyOfAComponentIsNamedWithItsPath() {
            assertThatThrownBy(() -> check(withPreTokenizer("{\"type\": \"Digits\", \"individual_digits\": true,"
                    + " \"extra\": 1}"))).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("tokenizer.json: pre_tokenizer.extra: unknown key of Digits");
        }

        @Test
        void aWrongTypeIsNamedWithItsPath() {
            assertThatThrownBy(() -> check(withPreTokenizer("{\"type\": \"Metaspace\", \"replacement\": \"ab\"}")))
                    .hasMessageContaining("pre_tokenizer.replacement: expected one character, got 'ab'");
        }

        @Test
        void bpeDropoutIsRefusedBecauseItMakesEncodingRandom() {
            assertThatThrownBy(() -> check("{\"model\": {\"type\": \"BPE\", \"dropout\": 0.1, \"vocab\": {},"
                    + " \"merges\": []}}")).hasMessageContaining("model.dropout: expected null, got 0.1");
        }

        @Test
        void aPostProcessorThatAddsSpecialTokensIsRefused() {
            assertThatThrownBy(() -> check("{\"post_processor\": {\"type\": \"TemplateProcessing\"}, \"model\":"
                    + " {\"vocab\": {}, \"merges\": []}}"))
                    .hasMessageContaining("post_processor.type: 'TemplateProcessing' is not supported");
        }

        @Test
        void aMergeMustBeTwoTokens() {
            assertThatThrownBy(() -> check("{\"model\": {\"vocab\": {}, \"merges\": [\"a b c\"]}}"))
                    .hasMessageContaining("model.merges[0]: expected two tokens separated by one space");
        }
    }
}
