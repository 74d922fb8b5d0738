package dev.based4j.server;

import java.time.Duration;
import java.util.Objects;

/**
 * How the server listens and what it accepts.
 *
 * @param host address to bind; {@code 127.0.0.1} (loopback) unless the server is meant to be reached from other
 *     machines
 * @param port TCP port, 0 for any free one
 * @param scheduler batching: sequence slots, queue, prefill chunk and budget
 * @param prefixCacheBytes most bytes of cached prefix states, 0 for no prefix cache
 * @param maxPromptTokens most prompt tokens per request, ≥ 1
 * @param maxTotalTokens most prompt plus generated tokens per request, ≥ 2
 * @param requestTimeout how long a request may take from arrival to its last token
 * @param shutdownGrace how long running requests may go on after a shutdown begins
 * @param maxBodyBytes largest request body accepted
 */
public record ServerConfig(String host, int port, SchedulerConfig scheduler, long prefixCacheBytes,
        int maxPromptTokens, int maxTotalTokens, Duration requestTimeout, Duration shutdownGrace, long maxBodyBytes) {
    /** Default {@link #host()}: loopback only. */
    public static final String LOOPBACK = "127.0.0.1";

    /** Validates every field. */
    public ServerConfig {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host: expected an address to bind, got '" + host + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: expected 0..65535, got " + port);
        }
        Objects.requireNonNull(scheduler, "scheduler");
        if (prefixCacheBytes < 0) {
            throw new IllegalArgumentException("prefixCacheBytes: expected >= 0, got " + prefixCacheBytes);
        }
        if (maxPromptTokens < 1) {
            throw new IllegalArgumentException("maxPromptTokens: expected >= 1, got " + maxPromptTokens);
        }
        if (maxTotalTokens < 2) {
            throw new IllegalArgumentException("maxTotalTokens: expected >= 2, got " + maxTotalTokens);
        }
        positive("requestTimeout", requestTimeout);
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        if (shutdownGrace.isNegative()) {
            throw new IllegalArgumentException("shutdownGrace: expected >= 0, got " + shutdownGrace);
        }
        if (maxBodyBytes < 1024) {
            throw new IllegalArgumentException("maxBodyBytes: expected >= 1024, got " + maxBodyBytes);
        }
    }

    private static void positive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + ": expected a positive duration, got " + d);
        }
    }

    /**
     * Loopback port 8080, {@link SchedulerConfig#defaults()}, a 1 GiB prefix cache, prompts of up to 32,768 tokens
     * and 33,792 in all, 10 minutes per request, 30 s of grace, bodies of up to 16 MiB.
     */
    public static ServerConfig defaults() {
        return new ServerConfig(LOOPBACK, 8080, SchedulerConfig.defaults(), 1L << 30, 32_768, 33_792,
                Duration.ofMinutes(10), Duration.ofSeconds(30), 16L << 20);
    }

    /** @return a copy listening on {@code host:port} */
    public ServerConfig withAddress(String h, int p) {
        return new ServerConfig(h, p, scheduler, prefixCacheBytes, maxPromptTokens, maxTotalTokens, requestTimeout,
                shutdownGrace, maxBodyBytes);
    }

    /** @return a copy with another scheduler configuration */
    public ServerConfig withScheduler(SchedulerConfig s) {
        return new ServerConfig(host, port, s, prefixCacheBytes, maxPromptTokens, maxTotalTokens, requestTimeout,
                shutdownGrace, maxBodyBytes);
    }

    /** @return a copy with another prefix-cache size */
    public ServerConfig withPrefixCacheBytes(long bytes) {
        return new ServerConfig(host, port, scheduler, bytes, maxPromptTokens, maxTotalTokens, requestTimeout,
                shutdownGrace, maxBodyBytes);
    }

    /** @return a copy with other token limits */
    public ServerConfig withTokenLimits(int prompt, int total) {
        return new ServerConfig(host, port, scheduler, prefixCacheBytes, prompt, total, requestTimeout, shutdownGrace,
                maxBodyBytes);
    }

    /** @return a copy with another request timeout and shutdown grace */
    public ServerConfig withTimeouts(Duration request, Duration grace) {
        return new ServerConfig(host, port, scheduler, prefixCacheBytes, maxPromptTokens, maxTotalTokens, request,
                grace, maxBodyBytes);
    }
}
