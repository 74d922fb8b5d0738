package dev.based4j.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.based4j.model.GenerationOptions;
import dev.based4j.server.GenerationEvent.Done;
import dev.based4j.server.GenerationEvent.FinishReason;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * An OpenAI-compatible HTTP server for one model, on Helidon SE's web server (one virtual thread per request, so a
 * streaming response is plain blocking code) with a {@link Scheduler} that batches every request's sequence.
 *
 * <ul>
 *   <li>{@code POST /v1/completions}, {@code POST /v1/chat/completions} ({@link ChatTemplate plain template}):
 *       fields in {@link OpenAiRequest}; {@code stream: true} answers with server-sent events, one chunk per
 *       token, ending {@code data: [DONE]}; an error after the stream started arrives as a
 *       {@code data: {"error": ...}} event;
 *   <li>{@code GET /v1/models}, {@code GET /v1/models/{id}}, {@code GET /health} (503 once shutting down),
 *       {@code GET /metrics} (Prometheus text, {@link ServerMetrics}).
 * </ul>
 *
 * <p>Errors are OpenAI error objects: 400 naming the field for malformed JSON, unknown fields and out-of-range
 * values, 404 for another model or path, 429 with {@code Retry-After} when the queue is full, 503 while shutting
 * down, 504 when a request's deadline passes, 500 when the model fails. A streaming client that disconnects is
 * noticed at the next write (a token, or a keep-alive comment every {@value #KEEP_ALIVE_MS} ms while it waits) and
 * its sequence is cancelled, freeing the slot before the next step. A non-streaming request cannot notice a
 * disconnect before it answers; its deadline bounds it.
 *
 * <p>{@link #close()} shuts down gracefully: new requests get 503, running ones may finish within
 * {@link ServerConfig#shutdownGrace()}, the rest end with an error, then the listener stops.
 */
public final class OpenAiServer implements AutoCloseable {
    /** Interval of keep-alive comments while a stream waits for its first token. */
    public static final long KEEP_ALIVE_MS = 1000;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ServedModel model;
    private final ServerConfig config;
    private final PrometheusMeterRegistry registry;
    private final ServerMetrics metrics;
    private final PrefixCache cache;
    private final Scheduler scheduler;
    private final WebServer server;
    private final SecureRandom random = new SecureRandom();
    private final long created = System.currentTimeMillis() / 1000;
    private volatile boolean closing;
    private boolean closed;

    private OpenAiServer(ServedModel model, ServerConfig config) {
        this.model = model;
        this.config = config;
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        this.metrics = new ServerMetrics(registry);
        SchedulerConfig sc = config.scheduler();
        this.cache = config.prefixCacheBytes() > 0
                ? new PrefixCache(model.runner(), sc.prefillChunk(), config.prefixCacheBytes(), 1 << 16) : null;
        this.scheduler = new Scheduler(model.runner(), sc, cache, model.samplingVocab(), metrics);
        metrics.watch(scheduler);
        WebServer s;
        try {
            s = WebServer.builder()
                    .host(config.host())
                    .port(config.port())
                    .maxPayloadSize(config.maxBodyBytes())
                    .shutdownGracePeriod(Duration.ofSeconds(1))
                    // a token is a few dozen bytes: Nagle's algorithm would hold it back until the previous one is
                    // acknowledged and deliver tokens in bursts
                    .connectionOptions(o -> o.tcpNoDelay(true))
                    // what Helidon refuses before routing (a body over the limit, a malformed request line) gets
                    // an OpenAI error object too
                    .directHandlers(d -> d
                            .addHandler(DirectHandler.EventType.PAYLOAD_TOO_LARGE, this::direct)
                            .addHandler(DirectHandler.EventType.BAD_REQUEST, this::direct))
                    .routing(this::routes)
                    .build()
                    .start();
        } catch (RuntimeException e) {
            scheduler.close();
            if (cache != null) {
                cache.close();
            }
            throw e;
        }
        this.server = s;
    }

    /**
     * Starts serving {@code model}: the scheduler's thread, then the listener.
     *
     * @throws IllegalArgumentException when the sequence slots' states do not fit in memory the JVM can address
     * @throws RuntimeException from the web server when the address cannot be bound
     */
    public static OpenAiServer start(ServedModel model, ServerConfig config) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(config, "config");
        long slots = config.scheduler().maxSequences();
        long per = model.runner().stateBytes();
        if (per > 0 && slots > Long.MAX_VALUE / per) {
            throw new IllegalArgumentException("maxSequences: " + slots + " states of " + per + " bytes overflow");
        }
        return new OpenAiServer(model, config);
    }

    /** @return the port it listens on (the bound one when the config said 0) */
    public int port() {
        return server.port();
    }

    /** @return the model it serves */
    public ServedModel model() {
        return model;
    }

    /** @return the configuration */
    public ServerConfig config() {
        return config;
    }

    /** @return the scheduler */
    public Scheduler scheduler() {
        return scheduler;
    }

    /** @return the registry behind {@code /metrics} */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    private void routes(HttpRouting.Builder r) {
        r.get("/health", this::health)
                .get("/metrics", this::metricsPage)
                .get("/v1/models", this::models)
                .get("/v1/models/{id}", this::oneModel)
                .post("/v1/completions", (req, res) -> generate(req, res, false))
                .post("/v1/chat/completions", (req, res) -> generate(req, res, true))
                .any((req, res) -> error(res, new ApiException(404, "invalid_request_error", null, "not_found",
                        req.prologue().method().text() + " " + req.path().path() + ": no such endpoint (see "
                                + "/v1/completions, /v1/chat/completions, /v1/models, /health, /metrics)")));
    }

    private void health(ServerRequest req, ServerResponse res) {
        ObjectNode o = JSON.createObjectNode();
        boolean up = !closing && scheduler.accepting();
        o.put("status", up ? "ok" : "shutting_down");
        o.put("model", model.name());
        o.put("active_sequences", scheduler.active());
        o.put("queue_length", scheduler.waiting());
        json(res, up ? 200 : 503, o);
    }

    private void metricsPage(ServerRequest req, ServerResponse res) {
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        res.send(registry.scrape().getBytes(StandardCharsets.UTF_8));
    }

    private ObjectNode modelObject() {
        ObjectNode m = JSON.createObjectNode();
        m.put("id", model.name());
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "based4j");
        long maxLen = Math.min(config.maxTotalTokens(), model.runner().maxPositions());
        m.put("max_model_len", maxLen);
        return m;
    }

    private void models(ServerRequest req, ServerResponse res) {
        ObjectNode o = JSON.createObjectNode();
        o.put("object", "list");
        o.putArray("data").add(modelObject());
        json(res, 200, o);
    }

    private void oneModel(ServerRequest req, ServerResponse res) {
        String id = req.path().pathParameters().get("id");
        if (!model.name().equals(id)) {
            error(res, new ApiException(404, "invalid_request_error", "model", "model_not_found", "model: '" + id
                    + "' does not exist; this server serves '" + model.name() + "'"));
            return;
        }
        json(res, 200, modelObject());
    }

    private void generate(ServerRequest req, ServerResponse res, boolean chat) {
        Ticket ticket = null;
        try {
            if (closing) {
                metrics.rejected("shutting_down");
                throw shuttingDown();
            }
            JsonNode body = readBody(req);
            OpenAiRequest r;
            try {
                r = OpenAiRequest.parse(body, chat, model, config, random::nextLong);
            } catch (ApiException e) {
                metrics.rejected("invalid");
                throw e;
            }
            GenerationOptions options = new GenerationOptions(r.maxTokens(), r.temperature(), r.topK(), r.topP(),
                    r.seed(), r.stopTokenIds());
            long deadline = System.nanoTime() + config.requestTimeout().toNanos();
            try {
                ticket = scheduler.submit(new GenerationJob(r.prompt(), options, deadline));
            } catch (Scheduler.Rejected e) {
                boolean full = e.reason() == Scheduler.Rejected.Reason.QUEUE_FULL;
                metrics.rejected(full ? "queue_full" : "shutting_down");
                if (full) {
                    res.header(HeaderNames.RETRY_AFTER, "1");
                    throw new ApiException(429, "rate_limit_exceeded", null, "queue_full", e.getMessage()
                            + "; retry later");
                }
                throw new ApiException(503, "server_error", null, "server_shutting_down", e.getMessage());
            } catch (IllegalArgumentException e) {
                throw ApiException.invalid(chat ? "messages" : "prompt", e.getMessage());
            }
            String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(random.nextLong());
            if (r.stream()) {
                stream(res, r, ticket, id);
            } else {
                complete(res, r, ticket, id);
            }
        } catch (ApiException e) {
            if (ticket != null) {
                ticket.cancel();
            }
            error(res, e);
        } catch (InterruptedException e) {
            if (ticket != null) {
                ticket.cancel();
            }
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (ticket != null) {
                ticket.cancel();
            }
            if (!res.isSent()) {
                error(res, new ApiException(500, "server_error", null, null, "internal error: " + e));
            }
        }
    }

    private static ApiException shuttingDown() {
        return new ApiException(503, "server_error", null, "server_shutting_down", "the server is shutting down");
    }

    private JsonNode readBody(ServerRequest req) {
        byte[] bytes;
        try (InputStream in = req.content().inputStream()) {
            bytes = in.readAllBytes();
        } catch (IOException | UncheckedIOException e) {
            throw new ApiException(400, "invalid_request_error", null, null, "request body: could not be read: "
                    + e.getMessage());
        } catch (RuntimeException e) {
            // Helidon refuses bodies over maxPayloadSize while they are read
            throw new ApiException(413, "invalid_request_error", null, "request_too_large", "request body: larger"
                    + " than " + config.maxBodyBytes() + " bytes, or unreadable: " + e.getMessage());
        }
        if (bytes.length == 0) {
            throw new ApiException(400, "invalid_request_error", null, null, "request body: expected a JSON object,"
                    + " got an empty body");
        }
        try {
            return JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "invalid_request_error", null, null, "request body: not valid JSON: "
                    + e.getOriginalMessage() + " (line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + ")");
        } catch (IOException e) {
            throw new ApiException(400, "invalid_request_error", null, null, "request body: " + e.getMessage());
        }
    }

    /** Text, ids and the end of one response, built from the ticket's events. */
    private final class Output {
        final OpenAiRequest request;
        final TokenCodec.Decoder decoder;
        final StopMatcher stop;
        final List<Integer> ids = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        Done done;
        boolean stoppedByString;

        Output(OpenAiRequest request) {
            this.request = request;
            this.decoder = model.codec() == null ? null : model.codec().decoder();
            this.stop = new StopMatcher(request.stops());
        }

        /** @return the text this token releases */
        String token(int id) {
            ids.add(id);
            String piece = decoder == null ? "" : stop.push(decoder.push(id));
            if (stop.stopped()) {
                stoppedByString = true;
            }
            text.append(piece);
            return piece;
        }

        /** @return the text held back until the end */
        String end(Done d) {
            done = d;
            String tail = "";
            if (decoder != null && !stoppedByString) {
                tail = stop.push(decoder.flush());
                tail += stop.flush();
            }
            text.append(tail);
            return tail;
        }

        String finishReason() {
            return stoppedByString || done.reason() == FinishReason.STOP ? "stop" : "length";
        }

        /** Waits for the scheduler's end of a sequence a stop string ended here. */
        void awaitDone(Ticket t) throws InterruptedException {
            t.stop();
            while (true) {
                GenerationEvent e = t.next();
                if (e instanceof Done d) {
                    done = d;
                    return;
                }
            }
        }

        ObjectNode usage() {
            ObjectNode u = JSON.createObjectNode();
            int completion = ids.size();
            u.put("prompt_tokens", request.prompt().length);
            u.put("completion_tokens", completion);
            u.put("total_tokens", request.prompt().length + completion);
            u.putObject("prompt_tokens_details").put("cached_tokens", done == null ? 0 : done.cachedTokens());
            return u;
        }
    }

    private static ApiException failure(Done d) {
        return switch (d.reason()) {
            case DEADLINE -> new ApiException(504, "timeout", null, "deadline_exceeded",
                    "the request did not finish within its deadline; " + d.completionTokens() + " tokens were generated");
            case SHUTDOWN -> shuttingDown();
            case CANCELLED -> new ApiException(499, "cancelled", null, "cancelled", "the request was cancelled");
            default -> new ApiException(500, "server_error", null, null, d.message() == null ? "generation failed"
                    : d.message());
        };
    }

    private void complete(ServerResponse res, OpenAiRequest r, Ticket t, String id) throws InterruptedException {
        Output out = new Output(r);
        while (true) {
            GenerationEvent e = t.next();
            if (e instanceof GenerationEvent.Token tok) {
                out.token(tok.id());
                if (out.stoppedByString) {
                    out.awaitDone(t);
                    break;
                }
            } else if (e instanceof Done d) {
                if (d.reason() != FinishReason.LENGTH && d.reason() != FinishReason.STOP) {
                    throw failure(d);
                }
                out.end(d);
                break;
            }
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("id", id);
        o.put("object", r.chat() ? "chat.completion" : "text_completion");
        o.put("created", System.currentTimeMillis() / 1000);
        o.put("model", model.name());
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        if (r.chat()) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", out.text.toString());
        } else {
            choice.put("text", out.text.toString());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", out.finishReason());
        if (r.returnTokenIds()) {
            ids(choice.putArray("prompt_token_ids"), r.prompt());
            ArrayNode a = choice.putArray("token_ids");
            out.ids.forEach(a::add);
        }
        o.set("usage", out.usage());
        json(res, 200, o);
    }

    private void stream(ServerResponse res, OpenAiRequest r, Ticket t, String id) throws InterruptedException {
        res.status(200);
        res.header(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        Output out = new Output(r);
        long createdNow = System.currentTimeMillis() / 1000;
        try (OutputStream os = res.outputStream()) {
            if (r.chat()) {
                ObjectNode first = chunk(r, id, createdNow);
                ObjectNode delta = first.withArray("choices").addObject();
                delta.put("index", 0);
                ObjectNode d = delta.putObject("delta");
                d.put("role", "assistant");
                d.put("content", "");
                delta.putNull("logprobs");
                delta.putNull("finish_reason");
                event(os, first);
            } else {
                os.write(KEEP_ALIVE);
                os.flush();
            }
            while (true) {
                GenerationEvent e = t.poll(TimeUnit.MILLISECONDS.toNanos(KEEP_ALIVE_MS));
                if (e == null) {
                    os.write(KEEP_ALIVE);
                    os.flush();
                    continue;
                }
                if (e instanceof GenerationEvent.Token tok) {
                    String piece = out.token(tok.id());
                    if (out.stoppedByString) {
                        out.awaitDone(t);
                        event(os, choiceChunk(r, id, createdNow, piece, List.of(tok.id()), out.finishReason()));
                        break;
                    }
                    event(os, choiceChunk(r, id, createdNow, piece, List.of(tok.id()), null));
                } else if (e instanceof Done d) {
                    if (d.reason() != FinishReason.LENGTH && d.reason() != FinishReason.STOP) {
                        if (d.reason() != FinishReason.CANCELLED) {
                            ObjectNode err = JSON.createObjectNode();
                            err.set("error", errorObject(failure(d)));
                            event(os, err);
                            os.write(DONE);
                            os.flush();
                        }
                        return;
                    }
                    String tail = out.end(d);
                    event(os, choiceChunk(r, id, createdNow, tail, List.of(), out.finishReason()));
                    break;
                }
            }
            if (r.includeUsage()) {
                ObjectNode u = chunk(r, id, createdNow);
                u.putArray("choices");
                u.set("usage", out.usage());
                event(os, u);
            }
            os.write(DONE);
            os.flush();
        } catch (IOException | RuntimeException e) {
            // the client went away (Helidon reports a closed connection as an unchecked exception of its own):
            // free the slot now; the response has begun, so there is no status left to send
            t.cancel();
        }
    }

    private ObjectNode chunk(OpenAiRequest r, String id, long createdNow) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", id);
        o.put("object", r.chat() ? "chat.completion.chunk" : "text_completion");
        o.put("created", createdNow);
        o.put("model", model.name());
        return o;
    }

    private ObjectNode choiceChunk(OpenAiRequest r, String id, long createdNow, String text, List<Integer> tokenIds,
            String finishReason) {
        ObjectNode o = chunk(r, id, createdNow);
        ObjectNode c = o.putArray("choices").addObject();
        c.put("index", 0);
        if (r.chat()) {
            ObjectNode delta = c.putObject("delta");
            if (!text.isEmpty() || finishReason == null) {
                delta.put("content", text);
            }
        } else {
            c.put("text", text);
        }
        c.putNull("logprobs");
        if (finishReason == null) {
            c.putNull("finish_reason");
        } else {
            c.put("finish_reason", finishReason);
        }
        if (r.returnTokenIds()) {
            ArrayNode a = c.putArray("token_ids");
            tokenIds.forEach(a::add);
        }
        if (r.includeUsage()) {
            o.putNull("usage");
        }
        return o;
    }

    private static void event(OutputStream os, ObjectNode o) throws IOException {
        os.write(("data: " + JSON.writeValueAsString(o) + "\n\n").getBytes(StandardCharsets.UTF_8));
        os.flush();
    }

    private static void ids(ArrayNode a, int[] ids) {
        for (int id : ids) {
            a.add(id);
        }
    }

    private static ObjectNode errorObject(ApiException e) {
        ObjectNode err = JSON.createObjectNode();
        err.put("message", e.getMessage());
        err.put("type", e.type());
        if (e.param() == null) {
            err.putNull("param");
        } else {
            err.put("param", e.param());
        }
        if (e.code() == null) {
            err.putNull("code");
        } else {
            err.put("code", e.code());
        }
        return err;
    }

    private static void error(ServerResponse res, ApiException e) {
        if (res.isSent()) {
            return;
        }
        ObjectNode o = JSON.createObjectNode();
        o.set("error", errorObject(e));
        json(res, e.status(), o);
    }

    private DirectHandler.TransportResponse direct(DirectHandler.TransportRequest req, DirectHandler.EventType type,
            Status status, ServerResponseHeaders headers, String message) {
        // Helidon reports a body over the limit as a bad request with status 413
        ApiException e = status.code() == 413
                ? new ApiException(413, "invalid_request_error", null, "request_too_large",
                        "request body: larger than " + config.maxBodyBytes() + " bytes")
                : new ApiException(status.code(), "invalid_request_error", null, null,
                        "not a valid HTTP request: " + message);
        ObjectNode o = JSON.createObjectNode();
        o.set("error", errorObject(e));
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(o);
        } catch (JsonProcessingException x) {
            body = new byte[0];
        }
        return DirectHandler.TransportResponse.builder().status(status).headers(headers)
                .header(HeaderNames.CONTENT_TYPE, "application/json").entity(body).keepAlive(false).build();
    }

    private static void json(ServerResponse res, int status, ObjectNode body) {
        res.status(status);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        try {
            res.send(JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("could not write a response", e);
        }
    }

    /**
     * Shuts down gracefully: refuses new requests (503), gives running ones {@link ServerConfig#shutdownGrace()} to
     * finish, ends the rest with an error, then stops the listener and drops the prefix cache. The runner belongs to
     * the caller. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        closing = true;
        try {
            scheduler.shutdown(config.shutdownGrace());
        } finally {
            try {
                server.stop();
            } finally {
                if (cache != null) {
                    cache.close();
                }
                registry.close();
            }
        }
    }
}
