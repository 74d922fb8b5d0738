/**
 * An OpenAI-compatible HTTP server for BASED models: {@link dev.based4j.server.OpenAiServer} (completions and chat
 * completions, streaming through server-sent events, models, health and Prometheus metrics), continuous batching
 * ({@link dev.based4j.server.Scheduler} over a {@link dev.based4j.server.SequenceRunner}) and a prefix-state cache
 * ({@link dev.based4j.server.PrefixCache}); plus a load generator ({@link dev.based4j.server.LoadGenerator}).
 */
module dev.based4j.server {
    requires transitive dev.based4j.model;
    requires io.helidon.webserver;
    requires io.helidon.http;
    requires micrometer.core;
    requires transitive micrometer.registry.prometheus;
    requires com.fasterxml.jackson.databind;
    requires java.net.http;

    exports dev.based4j.server;
}
