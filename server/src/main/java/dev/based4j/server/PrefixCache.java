package dev.based4j.server;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * States after prompt prefixes, kept so that a later prompt that starts with the same tokens skips their prefill.
 * A BASED state has a fixed size whatever the prefix's length, so one entry holds a prefix of any length.
 *
 * <p><b>Exact.</b> Entries are keyed by the token ids themselves (a hash finds candidates, the ids are compared),
 * and prefixes end only at multiples of the prefill chunk: the scheduler prefills every prompt in chunks that start
 * at multiples of the chunk size, so a prompt resumed from a cached state runs the very same chunks on the very same
 * state as a prompt prefilled from the start, and its logits are bit for bit the same.
 *
 * <p><b>Which prefixes are kept</b> (decided when a prompt is admitted): (a) the longest chunk-aligned prefix of
 * every prompt, which serves a repeated prompt and a conversation whose next turn extends this one; and (b) the
 * longest chunk-aligned prefix this prompt shares with an earlier prompt (a system prompt, a shared document): the
 * point where two prompts diverge, as a radix tree of prompts would split there. Intermediate boundaries are not
 * kept, so one long prompt adds at most two entries. Sharing is detected from a bounded table of hashes of the
 * aligned prefixes of recent prompts ({@code seenCapacity} of them).
 *
 * <p><b>Bounded by bytes</b> (the saved states plus their keys), least recently used first out. Not thread-safe:
 * the scheduler's thread uses it; the counters may be read from any thread.
 */
public final class PrefixCache implements AutoCloseable {
    private final SequenceRunner runner;
    private final int chunk;
    private final long capacityBytes;
    private final int seenCapacity;
    private final LinkedHashMap<Entry, Boolean> lru = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<Long, List<Entry>> byHash = new HashMap<>();
    private final LinkedHashMap<Long, Boolean> seen;
    private long bytes;
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong hitTokens = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final AtomicLong insertions = new AtomicLong();
    private volatile long bytesView;
    private volatile int entriesView;

    /**
     * @param runner the runner whose states are saved and resumed
     * @param chunk the scheduler's prefill chunk: prefixes end at its multiples, ≥ 1
     * @param capacityBytes most bytes of saved states and keys, ≥ 0 (0 keeps nothing)
     * @param seenCapacity aligned-prefix hashes remembered to detect shared prefixes, ≥ 0
     */
    public PrefixCache(SequenceRunner runner, int chunk, long capacityBytes, int seenCapacity) {
        this.runner = java.util.Objects.requireNonNull(runner, "runner");
        if (chunk < 1) {
            throw new IllegalArgumentException("chunk: expected >= 1, got " + chunk);
        }
        if (capacityBytes < 0) {
            throw new IllegalArgumentException("capacityBytes: expected >= 0, got " + capacityBytes);
        }
        if (seenCapacity < 0) {
            throw new IllegalArgumentException("seenCapacity: expected >= 0, got " + seenCapacity);
        }
        this.chunk = chunk;
        this.capacityBytes = capacityBytes;
        this.seenCapacity = seenCapacity;
        this.seen = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > PrefixCache.this.seenCapacity;
            }
        };
    }

    /** A cached state that a prompt can resume from. */
    public record Hit(int length, SequenceRunner.SavedState saved) {}

    /**
     * Finds the longest cached prefix of {@code prompt} that leaves at least one token to prefill (the first
     * generated token needs the logits of the prompt's last token).
     */
    public Optional<Hit> lookup(int[] prompt) {
        if (capacityBytes == 0) {
            return Optional.empty();
        }
        long[] hashes = alignedHashes(prompt, (prompt.length - 1) / chunk);
        for (int k = hashes.length; k >= 1; k--) {
            Entry e = find(hashes[k - 1], prompt, k * chunk);
            if (e != null) {
                lru.get(e);
                hits.incrementAndGet();
                hitTokens.addAndGet(e.length);
                return Optional.of(new Hit(e.length, e.saved));
            }
        }
        misses.incrementAndGet();
        return Optional.empty();
    }

    /**
     * Records {@code prompt}'s aligned prefixes as seen and returns the positions at which its state should be
     * saved (see the class comment), ascending; positions already cached are left out.
     */
    public int[] positionsToSave(int[] prompt) {
        if (capacityBytes == 0) {
            return new int[0];
        }
        int boundaries = prompt.length / chunk;
        long[] hashes = alignedHashes(prompt, boundaries);
        int shared = 0;
        for (int k = boundaries; k >= 1; k--) {
            if (seen.containsKey(hashes[k - 1])) {
                shared = k;
                break;
            }
        }
        for (long h : hashes) {
            seen.put(h, Boolean.TRUE);
        }
        List<Integer> out = new ArrayList<>(2);
        if (shared > 0 && shared < boundaries && find(hashes[shared - 1], prompt, shared * chunk) == null) {
            out.add(shared * chunk);
        }
        if (boundaries > 0 && find(hashes[boundaries - 1], prompt, boundaries * chunk) == null) {
            out.add(boundaries * chunk);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Saves {@code state}, which has consumed {@code prompt[0, state.position())}, under those ids; evicts least
     * recently used entries to make room. Does nothing when the position is not chunk-aligned, when the entry
     * alone exceeds the capacity or when it is cached already.
     */
    public void put(int[] prompt, SequenceRunner.SequenceState state) {
        long position = state.position();
        if (capacityBytes == 0 || position < chunk || position % chunk != 0 || position > prompt.length) {
            return;
        }
        int length = (int) position;
        long hash = alignedHashes(prompt, length / chunk)[length / chunk - 1];
        if (find(hash, prompt, length) != null) {
            return;
        }
        long keyBytes = (long) length * Integer.BYTES;
        if (runner.stateBytes() + keyBytes > capacityBytes) {
            return;
        }
        SequenceRunner.SavedState saved = runner.save(state);
        long size = saved.bytes() + keyBytes;
        if (size > capacityBytes) {
            saved.close();
            return;
        }
        while (bytes + size > capacityBytes && !lru.isEmpty()) {
            Iterator<Entry> eldest = lru.keySet().iterator();
            remove(eldest.next());
            evictions.incrementAndGet();
        }
        Entry e = new Entry(Arrays.copyOf(prompt, length), hash, saved, size);
        lru.put(e, Boolean.TRUE);
        byHash.computeIfAbsent(hash, h -> new ArrayList<>(1)).add(e);
        bytes += size;
        insertions.incrementAndGet();
        publish();
    }

    private void remove(Entry e) {
        lru.remove(e);
        List<Entry> list = byHash.get(e.hash);
        list.remove(e);
        if (list.isEmpty()) {
            byHash.remove(e.hash);
        }
        bytes -= e.size;
        e.saved.close();
        publish();
    }

    private void publish() {
        bytesView = bytes;
        entriesView = lru.size();
    }

    private Entry find(long hash, int[] prompt, int length) {
        List<Entry> candidates = byHash.get(hash);
        if (candidates == null) {
            return null;
        }
        for (Entry e : candidates) {
            if (e.length == length && Arrays.equals(e.ids, 0, length, prompt, 0, length)) {
                return e;
            }
        }
        return null;
    }

    /** @return the hash of {@code prompt[0, k·chunk)} for k = 1..count */
    private long[] alignedHashes(int[] prompt, int count) {
        long[] out = new long[Math.max(0, count)];
        long h = 0x9E3779B97F4A7C15L;
        for (int k = 0; k < out.length; k++) {
            for (int i = k * chunk; i < (k + 1) * chunk; i++) {
                h = (h ^ prompt[i]) * 0x100000001B3L;
                h ^= h >>> 29;
            }
            out[k] = h ^ ((long) (k + 1) * chunk << 32);
        }
        return out;
    }

    /** @return the prefill chunk: cached prefixes are multiples of it */
    public int chunk() {
        return chunk;
    }

    /** @return the most bytes the entries may occupy */
    public long capacityBytes() {
        return capacityBytes;
    }

    /** @return bytes the entries occupy now (states and keys) */
    public long bytes() {
        return bytesView;
    }

    /** @return entries held now */
    public int entries() {
        return entriesView;
    }

    /** @return lookups that found a prefix */
    public long hits() {
        return hits.get();
    }

    /** @return lookups that found none */
    public long misses() {
        return misses.get();
    }

    /** @return prompt tokens whose prefill hits skipped */
    public long hitTokens() {
        return hitTokens.get();
    }

    /** @return entries dropped to make room */
    public long evictions() {
        return evictions.get();
    }

    /** @return entries added */
    public long insertions() {
        return insertions.get();
    }

    /** Drops every entry. */
    @Override
    public void close() {
        for (Entry e : List.copyOf(lru.keySet())) {
            remove(e);
        }
    }

    private static final class Entry {
        final int[] ids;
        final long hash;
        final SequenceRunner.SavedState saved;
        final long size;
        final int length;

        Entry(int[] ids, long hash, SequenceRunner.SavedState saved, long size) {
            this.ids = ids;
            this.hash = hash;
            this.saved = saved;
            this.size = size;
            this.length = ids.length;
        }
    }
}
