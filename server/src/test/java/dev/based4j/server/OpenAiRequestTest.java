package dev.based4j.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.OptionalInt;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class OpenAiRequestTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ServedModel MODEL = new ServedModel("m", new PrefixCacheTest.CountingRunner(),
            new CharacterCodec(), 10, OptionalInt.of(9));
    private static final ServerConfig CONFIG = ServerConfig.defaults().withTokenLimits(100, 120);

    private static OpenAiRequest completion(String json) {
        return parse(json, false);
    }

    private static OpenAiRequest parse(String json, boolean chat) {
        try {
            JsonNode body = JSON.readTree(json);
            return OpenAiRequest.parse(body, chat, MODEL, CONFIG, () -> 42L);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void rejected(String json, boolean chat, String param, String message) {
        assertThatThrownBy(() -> parse(json, chat)).isInstanceOfSatisfying(ApiException.class, e -> {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.param()).isEqualTo(param);
            assertThat(e.getMessage()).startsWith(param + ": ").contains(message);
        });
    }

    @Nested
    class Completions {
        @Test
        void takesTheOpenAiDefaults() {
            OpenAiRequest r = completion("{\"model\": \"m\", \"prompt\": \"hi\"}");
            assertThat(r.maxTokens()).isEqualTo(OpenAiRequest.DEFAULT_COMPLETION_TOKENS);
            assertThat(r.temperature()).isEqualTo(1.0);
            assertThat(r.topP()).isEqualTo(1.0);
            assertThat(r.seed()).as("a fresh seed").isEqualTo(42L);
            assertThat(r.stopTokenIds()).as("the end-of-text id").containsExactly(9);
            assertThat(r.stream()).isFalse();
        }

        @Test
        void readsEveryFormOfPrompt() {
            assertThat(completion("{\"model\": \"m\", \"prompt\": \"!\\\"\"}").prompt()).containsExactly(1, 2);
            assertThat(completion("{\"model\": \"m\", \"prompt\": [\"!\"]}").prompt()).containsExactly(1);
            assertThat(completion("{\"model\": \"m\", \"prompt\": [3, 4]}").prompt()).containsExactly(3, 4);
            assertThat(completion("{\"model\": \"m\", \"prompt\": [[5]]}").prompt()).containsExactly(5);
        }

        @Test
        void ignoreEosLeavesTheEndOfTextIdOut() {
            assertThat(completion("{\"model\": \"m\", \"prompt\": [1], \"ignore_eos\": true, \"stop_token_ids\": [3]}")
                    .stopTokenIds()).containsExactly(3);
        }

        @Test
        void acceptsNeutralValuesOfFieldsItDoesNotImplement() {
            OpenAiRequest r = completion("{\"model\": \"m\", \"prompt\": [1], \"echo\": false, \"best_of\": 1,"
                    + " \"frequency_penalty\": 0, \"presence_penalty\": 0.0, \"logprobs\": null, \"logit_bias\": {},"
                    + " \"user\": \"u\", \"n\": 1, \"suffix\": null}");
            assertThat(r.prompt()).containsExactly(1);
        }

        @ParameterizedTest(name = "{0} = {1} is refused")
        @CsvSource(delimiter = '|', value = {
            "temperature | 2.5 | expected a number in [0, 2], got 2.5",
            "temperature | \"1\" | expected a number in [0, 2], got a string",
            "top_p | 0 | expected a number in (0, 1], got 0",
            "top_k | -2 | expected an integer in [-1, ",
            "max_tokens | 0 | expected an integer in [1, ",
            "max_tokens | 1.5 | expected an integer",
            "n | 2 | only 1 choice per request is supported",
            "stream | \"yes\" | expected true or false",
            "echo | true | not supported by this server",
            "frequency_penalty | 0.5 | not supported by this server",
            "logprobs | 3 | not supported by this server",
            "stop | 5 | expected a string or an array of strings",
            "stop | [\"a\",\"b\",\"c\",\"d\",\"e\"] | expected at most 4 stop strings",
            "stop_token_ids | [10] | expected a token id in [0, 10)",
            "seed | \"x\" | expected an integer",
            "colour | 1 | unknown field for /v1/completions",
            "messages | [] | unknown field for /v1/completions (it belongs to the chat completions endpoint)"})
        void outOfRangeOrUnknownFieldsAreRefusedNamingTheField(String field, String value, String message) {
            rejected("{\"model\": \"m\", \"prompt\": [1], \"" + field + "\": " + value + "}", false, field, message);
        }

        @Test
        void aPromptIdOutsideTheVocabularyIsRefused() {
            rejected("{\"model\": \"m\", \"prompt\": [1, 10]}", false, "prompt", "element 1 is 10");
        }

        @Test
        void textThatTheVocabularyCannotSpellIsRefused() {
            rejected("{\"model\": \"m\", \"prompt\": \"caf\\u00e9\"}", false, "prompt", "U+00E9 at index 3");
        }

        @Test
        void tooManyTokensInAllAreRefusedNamingMaxTokens() {
            rejected("{\"model\": \"m\", \"prompt\": [1, 2], \"max_tokens\": 119}", false, "max_tokens",
                    "expected at most 118");
        }

        @Test
        void aPromptOverTheLimitIsRefused() {
            rejected("{\"model\": \"m\", \"prompt\": " + java.util.Arrays.toString(new int[101]) + "}", false,
                    "prompt", "has 101 tokens; this server accepts at most 100");
        }

        @Test
        void streamOptionsNeedAStream() {
            rejected("{\"model\": \"m\", \"prompt\": [1], \"stream_options\": {\"include_usage\": true}}", false,
                    "stream_options", "only allowed when stream is true");
        }

        @Test
        void anotherModelIsNotFound() {
            assertThatThrownBy(() -> completion("{\"model\": \"gpt-4\", \"prompt\": [1]}"))
                    .isInstanceOfSatisfying(ApiException.class, e -> {
                        assertThat(e.status()).isEqualTo(404);
                        assertThat(e.code()).isEqualTo("model_not_found");
                    });
        }

        @Test
        void aBodyThatIsNoObjectIsRefused() {
            assertThatThrownBy(() -> completion("[1]")).isInstanceOf(ApiException.class)
                    .hasMessage("request body: expected a JSON object, got an array");
        }
    }

    @Nested
    class Chat {
        @Test
        void rendersThePlainTemplateAndStopsAtTheNextUserTurn() {
            OpenAiRequest r = parse("{\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": \"S\"},"
                    + " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Q\"}]}]}", true);
            assertThat(r.prompt()).containsExactly(new CharacterCodec().encode("S\n\nUser: Q\nAssistant:"));
            assertThat(r.stops()).containsExactly(ChatTemplate.STOP);
            assertThat(r.maxTokens()).as("chat's default: what the request limit leaves").isEqualTo(120 - 21);
        }

        @Test
        void anUnknownRoleIsRefusedNamingTheMessage() {
            rejected("{\"model\": \"m\", \"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", true,
                    "messages[0].role", "expected one of system, developer, user, assistant, got 'tool'");
        }

        @Test
        void toolsAreRefused() {
            rejected("{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{}]}",
                    true, "tools", "not supported");
        }
    }
}
