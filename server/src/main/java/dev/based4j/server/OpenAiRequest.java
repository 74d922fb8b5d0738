package dev.based4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * A validated {@code POST /v1/completions} or {@code /v1/chat/completions} body.
 *
 * <p>Fields of the OpenAI API that this server implements: {@code model}, {@code prompt} (text, one text in an
 * array, token ids, or one array of token ids) or {@code messages}, {@code max_tokens} (chat also
 * {@code max_completion_tokens}), {@code temperature} [0, 2], {@code top_p} (0, 1], {@code seed}, {@code stop} (a
 * string or up to 4), {@code n} (1), {@code stream}, {@code stream_options.include_usage}, {@code user}. Extensions
 * as vLLM names them: {@code top_k} (0 or -1 keep every token), {@code ignore_eos}, {@code stop_token_ids},
 * {@code return_token_ids}. Fields of the OpenAI API it does not implement are accepted only with their neutral
 * value ({@code echo: false}, {@code best_of: 1}, {@code frequency_penalty: 0}, {@code logprobs: null}, ...);
 * any other value, and any field the API does not have, is a 400 naming the field.
 *
 * @param chat whether it came from the chat endpoint
 * @param prompt the prompt's token ids
 * @param maxTokens tokens to generate at most
 * @param temperature 0 is greedy
 * @param topP nucleus mass
 * @param topK 0 keeps every token
 * @param seed of the sequence's generator (a fresh random one when the request gave none)
 * @param stops stop strings (chat adds {@link ChatTemplate#STOP})
 * @param stopTokenIds ids that end the generation (the end-of-text id among them unless {@code ignore_eos})
 * @param stream whether to answer with server-sent events
 * @param includeUsage whether a stream ends with a usage chunk
 * @param returnTokenIds whether choices carry their token ids
 */
public record OpenAiRequest(boolean chat, int[] prompt, int maxTokens, double temperature, double topP, int topK,
        long seed, List<String> stops, Set<Integer> stopTokenIds, boolean stream, boolean includeUsage,
        boolean returnTokenIds) {

    /** Default {@code max_tokens} of a completion, as OpenAI's. */
    public static final int DEFAULT_COMPLETION_TOKENS = 16;
    /** Most stop strings, as OpenAI's. */
    public static final int MAX_STOPS = 4;

    private static final Set<String> COMMON = Set.of("model", "max_tokens", "temperature", "top_p", "top_k", "seed",
            "stop", "n", "stream", "stream_options", "user", "frequency_penalty", "presence_penalty", "logit_bias",
            "logprobs", "ignore_eos", "stop_token_ids", "return_token_ids");
    private static final Set<String> COMPLETION = Set.of("prompt", "echo", "best_of", "suffix");
    private static final Set<String> CHAT = Set.of("messages", "max_completion_tokens", "top_logprobs",
            "response_format", "tools", "tool_choice", "parallel_tool_calls", "store", "metadata", "service_tier");

    /**
     * Validates a request body.
     *
     * @param seeds where a seed comes from when the request gives none
     * @throws ApiException 400 naming the field that is missing, of the wrong type, out of range or unknown; 404 when
     *     {@code model} is not the served model
     */
    public static OpenAiRequest parse(JsonNode body, boolean chat, ServedModel model, ServerConfig config,
            LongSupplier seeds) {
        if (body == null || !body.isObject()) {
            throw new ApiException(400, "invalid_request_error", null, null,
                    "request body: expected a JSON object, got " + kind(body));
        }
        for (Map.Entry<String, JsonNode> f : body.properties()) {
            String name = f.getKey();
            if (!COMMON.contains(name) && !(chat ? CHAT : COMPLETION).contains(name)) {
                throw ApiException.invalid(name, "unknown field for " + (chat ? "/v1/chat/completions"
                        : "/v1/completions") + (!chat && CHAT.contains(name) || chat && COMPLETION.contains(name)
                        ? " (it belongs to the " + (chat ? "completions" : "chat completions") + " endpoint)" : ""));
            }
        }
        String modelName = text(body, "model", true);
        if (!modelName.equals(model.name())) {
            throw new ApiException(404, "invalid_request_error", "model", "model_not_found", "model: '" + modelName
                    + "' does not exist; this server serves '" + model.name() + "'");
        }
        neutral(body, "frequency_penalty", 0.0);
        neutral(body, "presence_penalty", 0.0);
        JsonNode bias = body.get("logit_bias");
        if (bias != null && !bias.isNull() && !(bias.isObject() && bias.isEmpty())) {
            throw ApiException.invalid("logit_bias", "not supported by this server; expected null or {}");
        }
        if (chat) {
            JsonNode lp = body.get("logprobs");
            if (lp != null && !lp.isNull() && !(lp.isBoolean() && !lp.booleanValue())) {
                throw ApiException.invalid("logprobs", "not supported by this server; expected false or null");
            }
            nullOnly(body, "top_logprobs");
            JsonNode format = body.get("response_format");
            if (format != null && !format.isNull() && !(format.isObject() && format.size() == 1
                    && "text".equals(format.path("type").asText(null)))) {
                throw ApiException.invalid("response_format", "only {\"type\": \"text\"} is supported");
            }
            JsonNode tools = body.get("tools");
            if (tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty())) {
                throw ApiException.invalid("tools", "tool calls are not supported by this server");
            }
            JsonNode choice = body.get("tool_choice");
            if (choice != null && !choice.isNull() && !"none".equals(choice.asText(null))) {
                throw ApiException.invalid("tool_choice", "tool calls are not supported; expected \"none\" or null");
            }
            JsonNode store = body.get("store");
            if (store != null && !store.isNull() && !(store.isBoolean() && !store.booleanValue())) {
                throw ApiException.invalid("store", "this server stores nothing; expected false or null");
            }
        } else {
            nullOnly(body, "logprobs");
            nullOnly(body, "suffix");
            JsonNode echo = body.get("echo");
            if (echo != null && !echo.isNull() && !(echo.isBoolean() && !echo.booleanValue())) {
                throw ApiException.invalid("echo", "not supported by this server; expected false");
            }
            neutral(body, "best_of", 1.0);
        }
        JsonNode user = body.get("user");
        if (user != null && !user.isNull() && !user.isTextual()) {
            throw ApiException.invalid("user", "expected a string, got " + kind(user));
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isIntegralNumber() && n.asLong() == 1)) {
            throw ApiException.invalid("n", "only 1 choice per request is supported, got " + n);
        }

        List<String> stops = new ArrayList<>(stops(body, model));
        int[] prompt;
        if (chat) {
            prompt = encode(model, "messages", ChatTemplate.render(messages(body)));
            stops.add(ChatTemplate.STOP);
        } else {
            prompt = prompt(body, model);
        }
        if (prompt.length == 0) {
            throw ApiException.invalid(chat ? "messages" : "prompt", "encodes to no tokens; expected at least one");
        }
        if (prompt.length > config.maxPromptTokens()) {
            throw ApiException.invalid(chat ? "messages" : "prompt", "has " + prompt.length
                    + " tokens; this server accepts at most " + config.maxPromptTokens());
        }
        long limit = Math.min(config.maxTotalTokens(), saturatedAdd(model.runner().maxPositions(), 1));
        if (prompt.length >= limit) {
            throw ApiException.invalid(chat ? "messages" : "prompt", "has " + prompt.length + " tokens, which leaves"
                    + " no room to generate within the " + limit + " tokens a request may have");
        }
        String maxName = chat && body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        if (chat && body.has("max_completion_tokens") && body.has("max_tokens")
                && !body.get("max_tokens").isNull()) {
            throw ApiException.invalid("max_tokens", "give max_tokens or max_completion_tokens, not both");
        }
        Long max = integer(body, maxName, 1, Integer.MAX_VALUE);
        int maxTokens;
        if (max == null) {
            maxTokens = (int) Math.min(chat ? limit - prompt.length : DEFAULT_COMPLETION_TOKENS, limit - prompt.length);
        } else {
            if (prompt.length + max > limit) {
                throw ApiException.invalid(maxName, "the prompt's " + prompt.length + " tokens and " + max
                        + " to generate exceed the " + limit + " tokens a request may have; expected at most "
                        + (limit - prompt.length));
            }
            maxTokens = max.intValue();
        }
        double temperature = number(body, "temperature", 0, 2, true, 1.0);
        double topP = number(body, "top_p", 0, 1, false, 1.0);
        Long topKValue = integer(body, "top_k", -1, Integer.MAX_VALUE);
        int topK = topKValue == null || topKValue == -1 ? 0 : topKValue.intValue();
        Long seedValue = integer(body, "seed", Long.MIN_VALUE, Long.MAX_VALUE);
        long seed = seedValue != null ? seedValue : seeds.getAsLong();

        Set<Integer> stopIds = new LinkedHashSet<>();
        JsonNode ids = body.get("stop_token_ids");
        if (ids != null && !ids.isNull()) {
            if (!ids.isArray()) {
                throw ApiException.invalid("stop_token_ids", "expected an array of token ids, got " + kind(ids));
            }
            for (int i = 0; i < ids.size(); i++) {
                stopIds.add(tokenId(ids.get(i), "stop_token_ids", i, model));
            }
        }
        boolean ignoreEos = bool(body, "ignore_eos", false);
        if (!ignoreEos) {
            model.endOfText().ifPresent(stopIds::add);
        }
        boolean stream = bool(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!stream) {
                throw ApiException.invalid("stream_options", "only allowed when stream is true");
            }
            if (!so.isObject()) {
                throw ApiException.invalid("stream_options", "expected an object, got " + kind(so));
            }
            for (Map.Entry<String, JsonNode> f : so.properties()) {
                if (!f.getKey().equals("include_usage")) {
                    throw ApiException.invalid("stream_options." + f.getKey(), "unknown field");
                }
                if (!f.getValue().isBoolean()) {
                    throw ApiException.invalid("stream_options.include_usage", "expected a boolean, got "
                            + kind(f.getValue()));
                }
                includeUsage = f.getValue().booleanValue();
            }
        }
        boolean returnIds = bool(body, "return_token_ids", false);
        return new OpenAiRequest(chat, prompt, maxTokens, temperature, topP, topK, seed, List.copyOf(stops),
                Set.copyOf(stopIds), stream, includeUsage, returnIds);
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return r < a ? Long.MAX_VALUE : r;
    }

    private static List<ChatTemplate.Message> messages(JsonNode body) {
        JsonNode m = body.get("messages");
        if (m == null || m.isNull()) {
            throw ApiException.invalid("messages", "required");
        }
        if (!m.isArray() || m.isEmpty()) {
            throw ApiException.invalid("messages", "expected a non-empty array of messages, got " + kind(m));
        }
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (int i = 0; i < m.size(); i++) {
            JsonNode msg = m.get(i);
            String at = "messages[" + i + "]";
            if (!msg.isObject()) {
                throw ApiException.invalid(at, "expected an object, got " + kind(msg));
            }
            for (Map.Entry<String, JsonNode> f : msg.properties()) {
                if (!Set.of("role", "content", "name").contains(f.getKey())) {
                    throw ApiException.invalid(at + "." + f.getKey(), "unknown field (messages have role, content"
                            + " and name)");
                }
            }
            JsonNode role = msg.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.invalid(at + ".role", "expected one of system, developer, user, assistant, got "
                        + kind(role));
            }
            if (!Set.of("system", "developer", "user", "assistant").contains(role.asText())) {
                throw ApiException.invalid(at + ".role", "expected one of system, developer, user, assistant, got '"
                        + role.asText() + "'");
            }
            out.add(new ChatTemplate.Message(role.asText(), content(msg.get("content"), at + ".content")));
        }
        return out;
    }

    private static String content(JsonNode c, String at) {
        if (c == null || c.isNull()) {
            throw ApiException.invalid(at, "required");
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < c.size(); i++) {
                JsonNode part = c.get(i);
                if (!part.isObject() || !"text".equals(part.path("type").asText(null)) || !part.path("text").isTextual()
                        || part.size() != 2) {
                    throw ApiException.invalid(at + "[" + i + "]", "expected {\"type\": \"text\", \"text\": ...}"
                            + " (only text parts are supported)");
                }
                sb.append(part.get("text").asText());
            }
            return sb.toString();
        }
        throw ApiException.invalid(at, "expected a string or an array of text parts, got " + kind(c));
    }

    private static int[] prompt(JsonNode body, ServedModel model) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.invalid("prompt", "required");
        }
        if (p.isTextual()) {
            return encode(model, "prompt", p.asText());
        }
        if (p.isArray()) {
            if (p.isEmpty()) {
                throw ApiException.invalid("prompt", "expected a non-empty array");
            }
            JsonNode first = p.get(0);
            if (first.isTextual() || first.isArray()) {
                if (p.size() > 1) {
                    throw ApiException.invalid("prompt", "batches of prompts are not supported; send one prompt per"
                            + " request (got " + p.size() + ")");
                }
                return first.isTextual() ? encode(model, "prompt", first.asText()) : ids(first, "prompt[0]", model);
            }
            return ids(p, "prompt", model);
        }
        throw ApiException.invalid("prompt", "expected a string or an array of token ids, got " + kind(p));
    }

    private static int[] ids(JsonNode array, String at, ServedModel model) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = tokenId(array.get(i), at, i, model);
        }
        return out;
    }

    private static int tokenId(JsonNode v, String at, int i, ServedModel model) {
        if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() >= model.runner().logitsWidth()) {
            throw ApiException.invalid(at, "element " + i + " is " + v + "; expected a token id in [0, "
                    + model.runner().logitsWidth() + ")");
        }
        return v.asInt();
    }

    private static int[] encode(ServedModel model, String field, String text) {
        if (model.codec() == null) {
            throw ApiException.invalid(field, "this model has no tokenizer; send the prompt as token ids");
        }
        try {
            return model.codec().encode(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(field, e.getMessage());
        }
    }

    private static List<String> stops(JsonNode body, ServedModel model) {
        JsonNode s = body.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (s.isTextual()) {
            out.add(s.asText());
        } else if (s.isArray()) {
            if (s.size() > MAX_STOPS) {
                throw ApiException.invalid("stop", "expected at most " + MAX_STOPS + " stop strings, got " + s.size());
            }
            for (int i = 0; i < s.size(); i++) {
                if (!s.get(i).isTextual()) {
                    throw ApiException.invalid("stop", "element " + i + " is " + kind(s.get(i)) + "; expected a string");
                }
                out.add(s.get(i).asText());
            }
        } else {
            throw ApiException.invalid("stop", "expected a string or an array of strings, got " + kind(s));
        }
        for (String x : out) {
            if (x.isEmpty()) {
                throw ApiException.invalid("stop", "expected non-empty strings, got \"\"");
            }
        }
        if (!out.isEmpty() && model.codec() == null) {
            throw ApiException.invalid("stop", "this model has no tokenizer, so there is no text to find stop strings"
                    + " in; use stop_token_ids");
        }
        return out;
    }

    private static String text(JsonNode body, String name, boolean required) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            if (required) {
                throw ApiException.invalid(name, "required");
            }
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid(name, "expected a string, got " + kind(v));
        }
        return v.asText();
    }

    private static boolean bool(JsonNode body, String name, boolean absent) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(name, "expected true or false, got " + kind(v));
        }
        return v.booleanValue();
    }

    private static Long integer(JsonNode body, String name, long min, long max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.invalid(name, "expected an integer in [" + min + ", " + max + "], got " + v);
        }
        long x = v.asLong();
        if (x < min || x > max) {
            throw ApiException.invalid(name, "expected an integer in [" + min + ", " + max + "], got " + x);
        }
        return x;
    }

    private static double number(JsonNode body, String name, double min, double max, boolean minIncluded,
            double absent) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return absent;
        }
        String range = (minIncluded ? "[" : "(") + fmt(min) + ", " + fmt(max) + "]";
        if (!v.isNumber()) {
            throw ApiException.invalid(name, "expected a number in " + range + ", got " + kind(v));
        }
        double x = v.asDouble();
        if (!(minIncluded ? x >= min : x > min) || !(x <= max)) {
            throw ApiException.invalid(name, "expected a number in " + range + ", got " + v);
        }
        return x;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private static void neutral(JsonNode body, String name, double value) {
        JsonNode v = body.get(name);
        if (v != null && !v.isNull() && !(v.isNumber() && v.asDouble() == value)) {
            throw ApiException.invalid(name, "not supported by this server; expected " + fmt(value) + " or absent, got "
                    + v);
        }
    }

    private static void nullOnly(JsonNode body, String name) {
        JsonNode v = body.get(name);
        if (v != null && !v.isNull()) {
            throw ApiException.invalid(name, "not supported by this server; expected null or absent, got " + v);
        }
    }

    private static String kind(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        return switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "the number " + v;
            case BOOLEAN -> v.asText();
            case NULL -> "null";
            default -> v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
