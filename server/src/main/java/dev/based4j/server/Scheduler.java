package dev.based4j.server;

import dev.based4j.model.Sampler;
import dev.based4j.server.GenerationEvent.Done;
import dev.based4j.server.GenerationEvent.FinishReason;
import dev.based4j.server.SequenceRunner.Decode;
import dev.based4j.server.SequenceRunner.ItemResult;
import dev.based4j.server.SequenceRunner.Prefill;
import dev.based4j.server.SequenceRunner.StepItem;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Continuous batching for one model: a thread of its own that runs every active sequence forward in one planned
 * step after another. A submitted job waits in a bounded queue until a sequence slot is free, is prefilled in
 * chunks, then decodes one token per step until it stops; finished and cancelled sequences leave between steps and
 * their slots go to the next job at once.
 *
 * <p><b>Step policy.</b> Every step decodes one token of every decoding sequence (running streams never wait for a
 * prompt), then adds prefill chunks of prompting sequences, first come first served, while they fit in
 * {@link SchedulerConfig#prefillTokensPerStep()} (always at least one chunk, so prompts advance under any decode
 * load). A chunk covers {@code [k·C, min((k+1)·C, L))} of a prompt of length {@code L} for the chunk size {@code C}:
 * the same chunks whatever else is running and whether or not the prefix cache skipped the first ones, so a
 * sequence's logits never depend on the other sequences or on the cache. One sequence advances by at most one
 * item per step; the pause a chunk adds to the running streams is bounded by one chunk's prefill.
 *
 * <p><b>Prefix cache.</b> When a prompt's first chunk is about to run (not when it is admitted: by then an earlier
 * prompt may have saved the shared prefix) the longest cached prefix is resumed instead; the states at the
 * positions {@link PrefixCache#positionsToSave} chose are saved as the prefill passes them.
 *
 * <p>Sampling uses {@link Sampler} over the first {@code samplingVocab} ids with a generator per sequence seeded
 * from its options, so a sequence's tokens are those it would get alone.
 */
public final class Scheduler implements AutoCloseable {

    /** Hears what the scheduler does, on its thread; for metrics. Every method does nothing by default. */
    public interface Observer {
        /**
         * A step ran.
         *
         * @param nanos its duration
         * @param decodes decode items in it
         * @param prefillTokens prompt tokens prefilled in it
         */
        default void step(long nanos, int decodes, int prefillTokens) {}

        /** A sequence produced its first token, {@code nanos} after it was submitted. */
        default void firstToken(long nanos) {}

        /** A sequence produced a further token, {@code nanos} after its previous one. */
        default void nextToken(long nanos) {}

        /** A sequence ended, {@code nanos} after it was submitted. */
        default void finished(Done done, long nanos) {}
    }

    /** Why {@link #submit} refused a job. */
    public static final class Rejected extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /** The reasons. */
        public enum Reason {
            /** The queue of waiting jobs is full. */
            QUEUE_FULL,
            /** The scheduler is shutting down (or its thread failed). */
            SHUTTING_DOWN
        }

        private final Reason reason;

        Rejected(Reason reason, String message) {
            super(message);
            this.reason = reason;
        }

        /** @return why */
        public Reason reason() {
            return reason;
        }
    }

    private final SequenceRunner runner;
    private final SchedulerConfig config;
    private final PrefixCache cache;
    private final int samplingVocab;
    private final Observer observer;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    private final List<Active> active = new ArrayList<>();
    private final Thread thread;
    private volatile boolean accepting = true;
    private volatile boolean forceStop;
    private volatile int waitingCount;
    private volatile int activeCount;
    private volatile Throwable crash;

    /**
     * Starts the scheduler's thread.
     *
     * @param cache the prefix cache over the same runner and chunk, or null for none
     * @param samplingVocab ids that may be sampled, {@code [0, samplingVocab)}: the vocabulary without padding
     * @param observer hears steps and tokens, or null
     * @throws IllegalArgumentException when the cache's chunk is not the config's or the vocabulary does not fit
     */
    public Scheduler(SequenceRunner runner, SchedulerConfig config, PrefixCache cache, int samplingVocab,
            Observer observer) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.config = Objects.requireNonNull(config, "config");
        if (cache != null && cache.chunk() != config.prefillChunk()) {
            throw new IllegalArgumentException("cache: its chunk " + cache.chunk() + " is not the scheduler's prefill"
                    + " chunk " + config.prefillChunk() + "; cached prefixes would not be exact");
        }
        if (samplingVocab < 1 || samplingVocab > runner.logitsWidth()) {
            throw new IllegalArgumentException("samplingVocab: expected 1.." + runner.logitsWidth()
                    + " (the runner's logits width), got " + samplingVocab);
        }
        this.cache = cache;
        this.samplingVocab = samplingVocab;
        this.observer = observer == null ? new Observer() {} : observer;
        this.thread = Thread.ofPlatform().name("based4j-scheduler").daemon(true).unstarted(this::loop);
        thread.start();
    }

    /** @return the configuration */
    public SchedulerConfig config() {
        return config;
    }

    /** @return the runner */
    public SequenceRunner runner() {
        return runner;
    }

    /** @return the prefix cache, if any */
    public Optional<PrefixCache> cache() {
        return Optional.ofNullable(cache);
    }

    /** @return jobs waiting for a sequence slot */
    public int waiting() {
        return waitingCount;
    }

    /** @return sequences holding a state (prefilling or decoding) */
    public int active() {
        return activeCount;
    }

    /** @return whether new jobs are taken */
    public boolean accepting() {
        return accepting && crash == null;
    }

    /**
     * Queues a job.
     *
     * @return the ticket its events arrive on
     * @throws IllegalArgumentException when a prompt id is outside the runner's logits or the prompt and the
     *     tokens to generate exceed {@link SequenceRunner#maxPositions()}
     * @throws Rejected when the queue is full or the scheduler is shutting down
     */
    public Ticket submit(GenerationJob job) {
        Objects.requireNonNull(job, "job");
        int[] prompt = job.prompt();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= runner.logitsWidth()) {
                throw new IllegalArgumentException("prompt: id " + prompt[i] + " at position " + i
                        + " is outside the vocabulary [0, " + runner.logitsWidth() + ")");
            }
        }
        // the last generated token is never fed back
        long positions = (long) prompt.length + job.options().maxTokens() - 1;
        if (positions > runner.maxPositions()) {
            throw new IllegalArgumentException("prompt: " + prompt.length + " prompt tokens and "
                    + job.options().maxTokens() + " to generate need " + positions + " positions; the model holds "
                    + runner.maxPositions());
        }
        Ticket ticket = new Ticket(this::wake, System.nanoTime());
        lock.lock();
        try {
            if (crash != null) {
                throw new Rejected(Rejected.Reason.SHUTTING_DOWN, "the scheduler failed and takes no more requests: "
                        + crash);
            }
            if (!accepting) {
                throw new Rejected(Rejected.Reason.SHUTTING_DOWN, "the server is shutting down");
            }
            // jobs that a free slot will take at the next step do not count as queued
            int free = Math.max(0, config.maxSequences() - activeCount);
            if (waiting.size() >= config.maxQueue() + free) {
                throw new Rejected(Rejected.Reason.QUEUE_FULL, "the queue is full: " + waiting.size()
                        + " requests wait for one of " + config.maxSequences() + " sequence slots");
            }
            waiting.add(new Pending(job, ticket));
            waitingCount = waiting.size();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return ticket;
    }

    private void wake() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops taking jobs, lets the queued and running ones finish for up to {@code grace}, then ends the rest with
     * {@link FinishReason#SHUTDOWN} and stops the thread. Idempotent.
     *
     * @throws IllegalArgumentException when {@code grace} is negative
     */
    public void shutdown(Duration grace) {
        Objects.requireNonNull(grace, "grace");
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace: expected >= 0, got " + grace);
        }
        long deadline = System.nanoTime() + grace.toNanos();
        lock.lock();
        try {
            accepting = false;
            changed.signalAll();
            while (thread.isAlive() && (waitingCount > 0 || activeCount > 0)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
            }
            forceStop = true;
            changed.signalAll();
        } catch (InterruptedException e) {
            forceStop = true;
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@link #shutdown} without grace: running sequences end at once. */
    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }

    private void loop() {
        try {
            while (true) {
                List<Pending> admitted = new ArrayList<>();
                List<Pending> dropped = new ArrayList<>();
                lock.lock();
                try {
                    while (!forceStop && active.isEmpty() && waiting.isEmpty()) {
                        changed.await();
                    }
                    if (forceStop) {
                        dropped.addAll(waiting);
                        waiting.clear();
                    } else {
                        long now = System.nanoTime();
                        for (Iterator<Pending> it = waiting.iterator(); it.hasNext();) {
                            Pending p = it.next();
                            if (p.ticket.isCancelled() || now - p.job.deadlineNanos() > 0) {
                                it.remove();
                                dropped.add(p);
                            }
                        }
                        while (active.size() + admitted.size() < config.maxSequences() && !waiting.isEmpty()) {
                            admitted.add(waiting.poll());
                        }
                    }
                    waitingCount = waiting.size();
                } finally {
                    lock.unlock();
                }
                for (Pending p : dropped) {
                    FinishReason r = forceStop ? FinishReason.SHUTDOWN
                            : p.ticket.isCancelled() ? p.ticket.cancelReason() : FinishReason.DEADLINE;
                    done(p, r, 0, 0, null);
                }
                for (Pending p : admitted) {
                    admit(p);
                }
                reap();
                if (forceStop) {
                    for (Active a : List.copyOf(active)) {
                        finish(a, FinishReason.SHUTDOWN, null);
                    }
                    published();
                    return;
                }
                published();
                if (!active.isEmpty()) {
                    step();
                    published();
                }
            }
        } catch (Throwable t) {
            crash = t;
            for (Active a : List.copyOf(active)) {
                finish(a, FinishReason.ERROR, "the scheduler failed: " + t);
            }
            lock.lock();
            try {
                for (Pending p : waiting) {
                    done(p, FinishReason.ERROR, 0, 0, "the scheduler failed: " + t);
                }
                waiting.clear();
                waitingCount = 0;
            } finally {
                lock.unlock();
            }
            published();
            if (t instanceof Error e) {
                throw e;
            }
        }
    }

    private void published() {
        lock.lock();
        try {
            activeCount = active.size();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void admit(Pending p) {
        Active a = new Active(p, new Sampler(p.job.options(), samplingVocab));
        try {
            a.state = runner.open();
        } catch (RuntimeException e) {
            done(p, FinishReason.ERROR, 0, 0, "could not allocate the sequence's state: " + e.getMessage());
            return;
        }
        active.add(a);
    }

    /** Ends cancelled and late sequences before the step, so their slots are free for the next admission. */
    private void reap() {
        long now = System.nanoTime();
        for (Active a : List.copyOf(active)) {
            if (a.pending.ticket.isCancelled()) {
                finish(a, a.pending.ticket.cancelReason(), null);
            } else if (now - a.pending.job.deadlineNanos() > 0) {
                finish(a, FinishReason.DEADLINE, null);
            }
        }
    }

    private void step() {
        List<StepItem> items = new ArrayList<>();
        List<Active> owners = new ArrayList<>();
        int decodes = 0;
        for (Active a : active) {
            if (a.decoding) {
                items.add(new Decode(a.state, a.lastToken));
                owners.add(a);
                decodes++;
            }
        }
        int prefillTokens = 0;
        int chunk = config.prefillChunk();
        for (Active a : List.copyOf(active)) {
            if (a.decoding) {
                continue;
            }
            int[] prompt = a.pending.job.prompt();
            if (prefillTokens > 0 && prefillTokens + Math.min(chunk, prompt.length - a.position)
                    > config.prefillTokensPerStep()) {
                break;
            }
            if (!a.planned) {
                // as late as possible: a prompt ahead of this one may just have saved the prefix they share
                plan(a);
            }
            int len = Math.min(chunk, prompt.length - a.position);
            items.add(new Prefill(a.state, Arrays.copyOfRange(prompt, a.position, a.position + len),
                    a.position + len == prompt.length));
            owners.add(a);
            prefillTokens += len;
        }
        if (items.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        List<ItemResult> results;
        try {
            results = runner.step(items);
            if (results.size() != items.size()) {
                throw new IllegalStateException("the runner returned " + results.size() + " results for "
                        + items.size() + " items");
            }
        } catch (RuntimeException e) {
            results = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                results.add(ItemResult.failed(e));
            }
        }
        long t1 = System.nanoTime();
        observer.step(t1 - t0, decodes, prefillTokens);
        for (int i = 0; i < items.size(); i++) {
            Active a = owners.get(i);
            ItemResult r = results.get(i);
            if (r.error() != null) {
                finish(a, FinishReason.ERROR, "the model failed: " + r.error().getMessage());
                continue;
            }
            if (items.get(i) instanceof Prefill p) {
                a.position += p.ids().length;
                int[] prompt = a.pending.job.prompt();
                if (cache != null && a.saveAt.length > 0 && Arrays.binarySearch(a.saveAt, a.position) >= 0) {
                    try {
                        cache.put(prompt, a.state);
                    } catch (RuntimeException e) {
                        // a failed snapshot costs the cache an entry, not the sequence
                    }
                }
                if (!p.wantLogits()) {
                    continue;
                }
                a.decoding = true;
            }
            int token;
            try {
                token = a.sampler.sample(r.logits(), 0, a.random);
            } catch (RuntimeException e) {
                finish(a, FinishReason.ERROR, "sampling failed: " + e.getMessage());
                continue;
            }
            emit(a, token, t1);
        }
    }

    /** Resumes the longest cached prefix and decides where to save. */
    private void plan(Active a) {
        a.planned = true;
        if (cache == null) {
            return;
        }
        int[] prompt = a.pending.job.prompt();
        Optional<PrefixCache.Hit> hit = cache.lookup(prompt);
        if (hit.isPresent()) {
            try {
                SequenceRunner.SequenceState resumed = runner.resume(hit.get().saved());
                a.state.close();
                a.state = resumed;
                a.position = hit.get().length();
                a.cached = hit.get().length();
            } catch (RuntimeException e) {
                // the sequence prefills from the start instead
            }
        }
        int from = a.position;
        a.saveAt = Arrays.stream(cache.positionsToSave(prompt)).filter(x -> x > from).toArray();
    }

    private void emit(Active a, int token, long now) {
        a.generated++;
        a.pending.ticket.send(new GenerationEvent.Token(token, a.generated - 1));
        if (a.generated == 1) {
            observer.firstToken(now - a.pending.ticket.arrivalNanos());
        } else {
            observer.nextToken(now - a.lastTokenNanos);
        }
        a.lastTokenNanos = now;
        a.lastToken = token;
        if (a.pending.job.options().stopTokens().contains(token)) {
            finish(a, FinishReason.STOP, null);
        } else if (a.generated >= a.pending.job.options().maxTokens()) {
            finish(a, FinishReason.LENGTH, null);
        }
    }

    private void finish(Active a, FinishReason reason, String message) {
        active.remove(a);
        try {
            a.state.close();
        } finally {
            done(a.pending, reason, a.generated, a.cached, message);
        }
    }

    private void done(Pending p, FinishReason reason, int generated, int cached, String message) {
        Done d = new Done(reason, p.job.prompt().length, generated, cached, message);
        p.ticket.send(d);
        observer.finished(d, System.nanoTime() - p.ticket.arrivalNanos());
    }

    private record Pending(GenerationJob job, Ticket ticket) {}

    private static final class Active {
        final Pending pending;
        final Sampler sampler;
        final SplittableRandom random;
        SequenceRunner.SequenceState state;
        int position;
        int cached;
        boolean planned;
        int[] saveAt = new int[0];
        boolean decoding;
        int generated;
        int lastToken;
        long lastTokenNanos;

        Active(Pending pending, Sampler sampler) {
            this.pending = pending;
            this.sampler = sampler;
            this.random = new SplittableRandom(pending.job.options().seed());
        }
    }
}
