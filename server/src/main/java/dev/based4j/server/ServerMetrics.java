package dev.based4j.server;

import dev.based4j.server.GenerationEvent.Done;
import dev.based4j.server.GenerationEvent.FinishReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The server's meters in a Micrometer registry (the Prometheus registry for {@code GET /metrics}), named
 * {@code based4j.*} (Prometheus: {@code based4j_*}):
 *
 * <ul>
 *   <li>{@code based4j.queue.length}, {@code based4j.sequences.active}, {@code based4j.sequences.max}: gauges;
 *   <li>{@code based4j.tokens.generated}, {@code based4j.tokens.prompt}, {@code based4j.tokens.prompt.cached}:
 *       counters; {@code based4j.tokens.generated.rate}: generated tokens per second over the last
 *       {@value #RATE_WINDOW_S} seconds;
 *   <li>{@code based4j.time.to.first.token}, {@code based4j.time.per.output.token} (between consecutive tokens of a
 *       sequence), {@code based4j.request.duration}, {@code based4j.step.duration}: timers with histogram buckets;
 *       {@code based4j.step.decodes}, {@code based4j.step.prefill.tokens}: distributions;
 *   <li>{@code based4j.requests} by {@code reason} (stop, length, cancelled, deadline, shutdown, error) and
 *       {@code based4j.requests.rejected} by {@code reason} (queue_full, shutting_down, invalid);
 *   <li>{@code based4j.prefix.cache.hits}, {@code .misses}, {@code .hit.tokens}, {@code .evictions}: counters;
 *       {@code based4j.prefix.cache.bytes}, {@code .entries}, {@code .capacity.bytes}: gauges.
 * </ul>
 */
public final class ServerMetrics implements Scheduler.Observer {
    /** Seconds over which {@code based4j.tokens.generated.rate} is averaged. */
    public static final int RATE_WINDOW_S = 10;

    private final MeterRegistry registry;
    private final Counter generated;
    private final Counter prompt;
    private final Counter cached;
    private final Timer timeToFirstToken;
    private final Timer timePerOutputToken;
    private final Timer requestDuration;
    private final Timer stepDuration;
    private final DistributionSummary stepDecodes;
    private final DistributionSummary stepPrefill;
    private final Map<FinishReason, Counter> finished = new EnumMap<>(FinishReason.class);
    private final long[] perSecond = new long[RATE_WINDOW_S + 1];
    private long currentSecond = Long.MIN_VALUE;

    /**
     * Registers the meters of {@code scheduler} (and of its prefix cache, if any) in {@code registry}.
     */
    public ServerMetrics(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        generated = Counter.builder("based4j.tokens.generated").description("tokens generated").register(registry);
        prompt = Counter.builder("based4j.tokens.prompt").description("prompt tokens of finished requests")
                .register(registry);
        cached = Counter.builder("based4j.tokens.prompt.cached")
                .description("prompt tokens whose prefill the prefix cache skipped").register(registry);
        timeToFirstToken = latency("based4j.time.to.first.token",
                "from the request's arrival to its first generated token", Duration.ofMillis(1), Duration.ofMinutes(5));
        timePerOutputToken = latency("based4j.time.per.output.token",
                "between two consecutive tokens of one sequence", Duration.ofNanos(100_000), Duration.ofMinutes(1));
        requestDuration = latency("based4j.request.duration", "from arrival to the last token",
                Duration.ofMillis(1), Duration.ofMinutes(30));
        stepDuration = latency("based4j.step.duration", "one scheduler step (all its decodes and prefill chunks)",
                Duration.ofNanos(100_000), Duration.ofMinutes(1));
        stepDecodes = DistributionSummary.builder("based4j.step.decodes").description("decode items per step")
                .publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue(4096.0)
                .register(registry);
        stepPrefill = DistributionSummary.builder("based4j.step.prefill.tokens")
                .description("prompt tokens prefilled per step").register(registry);
        for (FinishReason r : FinishReason.values()) {
            finished.put(r, Counter.builder("based4j.requests").description("finished requests, by why they ended")
                    .tag("reason", r.name().toLowerCase(Locale.ROOT)).register(registry));
        }
        Gauge.builder("based4j.tokens.generated.rate", this, ServerMetrics::rate).baseUnit("tokens/s")
                .description("tokens generated per second over the last " + RATE_WINDOW_S + " s").register(registry);
    }

    private Timer latency(String name, String description, Duration min, Duration max) {
        return Timer.builder(name).description(description).publishPercentileHistogram()
                .minimumExpectedValue(min).maximumExpectedValue(max).register(registry);
    }

    /** Registers the queue, sequence and prefix-cache gauges of {@code scheduler}. */
    public void watch(Scheduler scheduler) {
        Gauge.builder("based4j.queue.length", scheduler, Scheduler::waiting)
                .description("requests waiting for a sequence slot").register(registry);
        Gauge.builder("based4j.sequences.active", scheduler, Scheduler::active)
                .description("sequences prefilling or decoding").register(registry);
        Gauge.builder("based4j.sequences.max", scheduler, s -> s.config().maxSequences())
                .description("sequence slots").register(registry);
        scheduler.cache().ifPresent(c -> {
            FunctionCounter.builder("based4j.prefix.cache.hits", c, PrefixCache::hits)
                    .description("prompts that resumed a cached prefix").register(registry);
            FunctionCounter.builder("based4j.prefix.cache.misses", c, PrefixCache::misses)
                    .description("prompts that found no cached prefix").register(registry);
            FunctionCounter.builder("based4j.prefix.cache.hit.tokens", c, PrefixCache::hitTokens)
                    .description("prompt tokens whose prefill was skipped").register(registry);
            FunctionCounter.builder("based4j.prefix.cache.evictions", c, PrefixCache::evictions)
                    .description("entries dropped to make room").register(registry);
            Gauge.builder("based4j.prefix.cache.bytes", c, PrefixCache::bytes).baseUnit("bytes")
                    .description("bytes of cached states and keys").register(registry);
            Gauge.builder("based4j.prefix.cache.capacity.bytes", c, PrefixCache::capacityBytes).baseUnit("bytes")
                    .description("most bytes the cache holds").register(registry);
            Gauge.builder("based4j.prefix.cache.entries", c, PrefixCache::entries)
                    .description("cached prefixes").register(registry);
        });
    }

    /** Counts a request refused before it was queued; {@code reason} in snake case. */
    public void rejected(String reason) {
        Counter.builder("based4j.requests.rejected").description("requests refused before they were queued")
                .tag("reason", reason).register(registry).increment();
    }

    @Override
    public void step(long nanos, int decodes, int prefillTokens) {
        stepDuration.record(nanos, TimeUnit.NANOSECONDS);
        stepDecodes.record(decodes);
        stepPrefill.record(prefillTokens);
    }

    @Override
    public void firstToken(long nanos) {
        timeToFirstToken.record(nanos, TimeUnit.NANOSECONDS);
        count();
    }

    @Override
    public void nextToken(long nanos) {
        timePerOutputToken.record(nanos, TimeUnit.NANOSECONDS);
        count();
    }

    @Override
    public void finished(Done done, long nanos) {
        finished.get(done.reason()).increment();
        prompt.increment(done.promptTokens());
        cached.increment(done.cachedTokens());
        if (done.completionTokens() > 0) {
            requestDuration.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    private synchronized void count() {
        generated.increment();
        long second = System.nanoTime() / 1_000_000_000L;
        roll(second);
        perSecond[(int) Math.floorMod(second, (long) perSecond.length)]++;
    }

    private void roll(long second) {
        if (currentSecond == Long.MIN_VALUE || second - currentSecond > perSecond.length) {
            java.util.Arrays.fill(perSecond, 0);
        } else {
            for (long s = currentSecond + 1; s <= second; s++) {
                perSecond[(int) Math.floorMod(s, (long) perSecond.length)] = 0;
            }
        }
        currentSecond = Math.max(currentSecond, second);
    }

    private synchronized double rate() {
        long second = System.nanoTime() / 1_000_000_000L;
        roll(second);
        long sum = 0;
        // the full seconds of the window, leaving out the current one, which is still filling
        for (long s = second - RATE_WINDOW_S; s < second; s++) {
            sum += perSecond[(int) Math.floorMod(s, (long) perSecond.length)];
        }
        return sum / (double) RATE_WINDOW_S;
    }
}
