package dev.based4j.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.based4j.Backend;
import dev.based4j.model.BasedModel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The HTTP protocol, through the JDK's {@link HttpClient}, against a server on the seeded tiny model. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Backend backend;
    private BasedModel model;
    private LayerStackRunner runner;
    private OpenAiServer server;
    private HttpClient client;

    @BeforeAll
    void start() {
        backend = TinyModels.cpu();
        model = TinyModels.tiny(backend);
        runner = new LayerStackRunner(model.stack());
        server = start(ServerConfig.defaults().withAddress(ServerConfig.LOOPBACK, 0)
                .withScheduler(new SchedulerConfig(8, 8, 64, 64)).withPrefixCacheBytes(16L << 20));
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    private OpenAiServer start(ServerConfig config) {
        return OpenAiServer.start(TinyModels.served(model, runner), config);
    }

    @AfterAll
    void stop() {
        server.close();
        runner.close();
        model.close();
        backend.close();
    }

    private static URI uri(OpenAiServer s, String path) {
        return URI.create("http://127.0.0.1:" + s.port() + path);
    }

    private HttpResponse<String> post(OpenAiServer s, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(uri(s, path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return post(server, path, body);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(uri(server, path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** @return the data of every event of a server-sent-event body, in order */
    private static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: ")) {
                out.add(line.substring(6));
            }
        }
        return out;
    }

    private static JsonNode json(String s) throws IOException {
        return JSON.readTree(s);
    }

    @Nested
    class Completions {
        @Test
        void answersWithTextFinishReasonAndUsage() throws Exception {
            HttpResponse<String> r = post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"Hello\","
                    + " \"max_tokens\": 7, \"temperature\": 0, \"return_token_ids\": true}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode o = json(r.body());
            assertThat(o.path("object").asText()).isEqualTo("text_completion");
            JsonNode choice = o.path("choices").get(0);
            assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
            assertThat(choice.path("token_ids")).hasSize(7);
            StringBuilder spelled = new StringBuilder();
            choice.path("token_ids").forEach(id -> spelled.append(CharacterCodec.spell(id.asInt())));
            assertThat(choice.path("text").asText()).isEqualTo(spelled.toString());
            assertThat(o.path("usage").path("prompt_tokens").asInt()).isEqualTo(5);
            assertThat(o.path("usage").path("completion_tokens").asInt()).isEqualTo(7);
            assertThat(o.path("usage").path("total_tokens").asInt()).isEqualTo(12);
        }

        @Test
        void streamsOneChunkPerTokenThenUsageThenDone() throws Exception {
            String body = "{\"model\": \"tiny\", \"prompt\": [3, 1, 4, 1, 5], \"max_tokens\": 6, \"temperature\": 0";
            HttpResponse<String> whole = post("/v1/completions", body + "}");
            HttpResponse<String> r = post("/v1/completions", body + ", \"stream\": true,"
                    + " \"stream_options\": {\"include_usage\": true}}");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).get().asString().startsWith("text/event-stream");
            List<String> events = events(r.body());
            assertThat(events).hasSize(6 + 1 + 1 + 1);
            assertThat(events.getLast()).isEqualTo("[DONE]");
            StringBuilder text = new StringBuilder();
            for (String e : events.subList(0, 7)) {
                text.append(json(e).path("choices").get(0).path("text").asText());
            }
            assertThat(json(events.get(6)).path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
            assertThat(json(events.get(7)).path("usage").path("completion_tokens").asInt()).isEqualTo(6);
            assertThat(text.toString()).as("streamed text vs the same request unstreamed")
                    .isEqualTo(json(whole.body()).path("choices").get(0).path("text").asText());
        }

        @Test
        void aStopStringEndsTheTextBeforeIt() throws Exception {
            HttpResponse<String> free = post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"abc\","
                    + " \"max_tokens\": 12, \"temperature\": 0}");
            String text = json(free.body()).path("choices").get(0).path("text").asText();
            String stop = text.substring(3, 5);
            HttpResponse<String> r = post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"abc\","
                    + " \"max_tokens\": 12, \"temperature\": 0, \"stop\": \"" + stop.replace("\"", "\\\"")
                    .replace("\\", "\\\\") + "\"}");
            JsonNode choice = json(r.body()).path("choices").get(0);
            assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
            assertThat(choice.path("text").asText()).isEqualTo(text.substring(0, text.indexOf(stop)));
        }

        @Test
        void greedyTokensAreTheSameAloneAndAmongConcurrentRequests() throws Exception {
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                bodies.add("{\"model\": \"tiny\", \"prompt\": " + java.util.Arrays.toString(TinyModels.prompt(i, 20
                        + 40 * i)) + ", \"max_tokens\": 12, \"temperature\": 0, \"return_token_ids\": true}");
            }
            List<JsonNode> alone = new ArrayList<>();
            for (String b : bodies) {
                alone.add(json(post("/v1/completions", b).body()).path("choices").get(0).path("token_ids"));
            }
            List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
            for (String b : bodies) {
                futures.add(client.sendAsync(HttpRequest.newBuilder(uri(server, "/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString(b)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < bodies.size(); i++) {
                assertThat(json(futures.get(i).get(1, TimeUnit.MINUTES).body()).path("choices").get(0)
                        .path("token_ids")).as("request %d (prompt seed %d)", i, i).isEqualTo(alone.get(i));
            }
        }
    }

    @Nested
    class Chat {
        @Test
        void answersWithAnAssistantMessage() throws Exception {
            HttpResponse<String> r = post("/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\":"
                    + " \"user\", \"content\": \"Hi\"}], \"max_tokens\": 5, \"temperature\": 0}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode o = json(r.body());
            assertThat(o.path("object").asText()).isEqualTo("chat.completion");
            assertThat(o.path("choices").get(0).path("message").path("role").asText()).isEqualTo("assistant");
            assertThat(o.path("usage").path("prompt_tokens").asInt()).isEqualTo("User: Hi\nAssistant:".length());
        }

        @Test
        void streamsTheRoleFirstThenContentDeltas() throws Exception {
            HttpResponse<String> r = post("/v1/chat/completions", "{\"model\": \"tiny\", \"messages\": [{\"role\":"
                    + " \"user\", \"content\": \"Hi\"}], \"max_tokens\": 3, \"stream\": true}");
            List<String> events = events(r.body());
            assertThat(json(events.getFirst()).path("choices").get(0).path("delta").path("role").asText())
                    .isEqualTo("assistant");
            assertThat(json(events.get(1)).path("object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(events.getLast()).isEqualTo("[DONE]");
        }
    }

    @Nested
    class Endpoints {
        @Test
        void listsTheModel() throws Exception {
            JsonNode o = json(get("/v1/models").body());
            assertThat(o.path("data").get(0).path("id").asText()).isEqualTo("tiny");
        }

        @Test
        void reportsHealth() throws Exception {
            HttpResponse<String> r = get("/health");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(json(r.body()).path("status").asText()).isEqualTo("ok");
        }

        @Test
        void exposesPrometheusMetrics() throws Exception {
            post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"metrics\", \"max_tokens\": 3}");
            String text = get("/metrics").body();
            assertThat(text).contains("based4j_time_to_first_token_seconds_bucket",
                    "based4j_time_per_output_token_seconds_bucket", "based4j_queue_length",
                    "based4j_sequences_active", "based4j_tokens_generated_total", "based4j_prefix_cache_hits_total",
                    "based4j_tokens_generated_rate");
        }

        @Test
        void anUnknownPathIsNotFound() throws Exception {
            HttpResponse<String> r = get("/v2/nothing");
            assertThat(r.statusCode()).isEqualTo(404);
            assertThat(json(r.body()).path("error").path("code").asText()).isEqualTo("not_found");
        }
    }

    @Nested
    class Errors {
        @Test
        void malformedJsonIsA400() throws Exception {
            HttpResponse<String> r = post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": ");
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(json(r.body()).path("error").path("message").asText()).startsWith("request body: not valid JSON");
        }

        @Test
        void anUnknownFieldIsA400NamingIt() throws Exception {
            HttpResponse<String> r = post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"x\", \"tempature\": 1}");
            assertThat(r.statusCode()).isEqualTo(400);
            JsonNode e = json(r.body()).path("error");
            assertThat(e.path("param").asText()).isEqualTo("tempature");
            assertThat(e.path("type").asText()).isEqualTo("invalid_request_error");
        }

        @Test
        void anOutOfRangeValueIsA400NamingTheField() throws Exception {
            HttpResponse<String> r = post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"x\", \"top_p\": 1.5}");
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(json(r.body()).path("error").path("message").asText())
                    .isEqualTo("top_p: expected a number in (0, 1], got 1.5");
        }

        @Test
        void aBodyOverTheLimitIsA413WithAnErrorObject() throws Exception {
            ServerConfig d = ServerConfig.defaults();
            try (OpenAiServer s = start(new ServerConfig(ServerConfig.LOOPBACK, 0, d.scheduler(), 0,
                    d.maxPromptTokens(), d.maxTotalTokens(), d.requestTimeout(), d.shutdownGrace(), 4096))) {
                HttpResponse<String> r = post(s, "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \""
                        + "a".repeat(8000) + "\"}");
                assertThat(r.statusCode()).isEqualTo(413);
                assertThat(json(r.body()).path("error").path("code").asText()).isEqualTo("request_too_large");
            }
        }

        @Test
        void anotherModelIsA404() throws Exception {
            HttpResponse<String> r = post("/v1/completions", "{\"model\": \"gpt-4\", \"prompt\": \"x\"}");
            assertThat(r.statusCode()).isEqualTo(404);
            assertThat(json(r.body()).path("error").path("code").asText()).isEqualTo("model_not_found");
        }
    }

    @Nested
    class Limits {
        private static final String ENDLESS = "{\"model\": \"tiny\", \"prompt\": \"x\", \"max_tokens\": 30000,"
                + " \"stream\": true}";

        /** Opens a stream and reads until its first token. */
        private InputStream openStream(OpenAiServer s) throws Exception {
            HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(uri(s, "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(ENDLESS)).build(), HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.statusCode()).isEqualTo(200);
            BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
            String line;
            while ((line = reader.readLine()) != null && !line.startsWith("data: ")) {
                // keep-alive comments and blank lines
            }
            return r.body();
        }

        private static void awaitIdle(OpenAiServer s) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((s.scheduler().active() > 0 || s.scheduler().waiting() > 0) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }

        @Test
        void aFullQueueAnswers429WithRetryAfter() throws Exception {
            try (OpenAiServer s = start(ServerConfig.defaults().withAddress(ServerConfig.LOOPBACK, 0)
                    .withScheduler(new SchedulerConfig(1, 0, 64, 64)))) {
                InputStream running = openStream(s);
                HttpResponse<String> r = post(s, "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"y\"}");
                running.close();
                assertThat(r.statusCode()).isEqualTo(429);
                assertThat(r.headers().firstValue("Retry-After")).contains("1");
                assertThat(json(r.body()).path("error").path("code").asText()).isEqualTo("queue_full");
            }
        }

        @Test
        void aClientThatDisconnectsFreesItsSequence() throws Exception {
            try (OpenAiServer s = start(ServerConfig.defaults().withAddress(ServerConfig.LOOPBACK, 0)
                    .withScheduler(new SchedulerConfig(2, 2, 64, 64)))) {
                InputStream stream = openStream(s);
                assertThat(s.scheduler().active()).isEqualTo(1);
                stream.close();
                awaitIdle(s);
                assertThat(s.scheduler().active()).as("sequences 20 s after the client left").isZero();
                assertThat(s.registry().get("based4j.requests").tag("reason", "cancelled").counter().count())
                        .isEqualTo(1.0);
            }
        }

        @Test
        void aRequestPastItsDeadlineIsA504() throws Exception {
            try (OpenAiServer s = start(ServerConfig.defaults().withAddress(ServerConfig.LOOPBACK, 0)
                    .withTimeouts(Duration.ofMillis(300), Duration.ofSeconds(1)))) {
                HttpResponse<String> r = post(s, "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"x\","
                        + " \"max_tokens\": 30000}");
                assertThat(r.statusCode()).isEqualTo(504);
                assertThat(json(r.body()).path("error").path("code").asText()).isEqualTo("deadline_exceeded");
            }
        }

        @Test
        void shutdownLetsARunningStreamFinishWithinTheGrace() throws Exception {
            OpenAiServer s = start(ServerConfig.defaults().withAddress(ServerConfig.LOOPBACK, 0)
                    .withTimeouts(Duration.ofMinutes(1), Duration.ofSeconds(30)));
            CompletableFuture<HttpResponse<String>> stream = client.sendAsync(HttpRequest.newBuilder(
                    uri(s, "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"tiny\","
                    + " \"prompt\": \"x\", \"max_tokens\": 200, \"stream\": true}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (s.scheduler().active() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            s.close();
            List<String> events = events(stream.get(1, TimeUnit.MINUTES).body());
            assertThat(events.getLast()).isEqualTo("[DONE]");
            assertThat(json(events.get(events.size() - 2)).path("choices").get(0).path("finish_reason").asText())
                    .isEqualTo("length");
        }

        @Test
        void shutdownEndsAStreamThatOutlastsTheGraceWithAnErrorEvent() throws Exception {
            OpenAiServer s = start(ServerConfig.defaults().withAddress(ServerConfig.LOOPBACK, 0)
                    .withTimeouts(Duration.ofMinutes(1), Duration.ofMillis(200)));
            CompletableFuture<HttpResponse<String>> stream = client.sendAsync(HttpRequest.newBuilder(
                    uri(s, "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(ENDLESS)).build(),
                    HttpResponse.BodyHandlers.ofString());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (s.scheduler().active() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            s.close();
            List<String> events = events(stream.get(1, TimeUnit.MINUTES).body());
            assertThat(events.getLast()).isEqualTo("[DONE]");
            assertThat(json(events.get(events.size() - 2)).path("error").path("code").asText())
                    .isEqualTo("server_shutting_down");
        }
    }
}
