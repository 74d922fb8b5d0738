package dev.based4j.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Recycles the native memory of closed tensors. Closing a shared {@link Arena} costs a handshake with every
 * thread of the JVM (tens to hundreds of microseconds), and a layer's forward pass frees a dozen intermediate
 * tensors per token; so a closed tensor's segment goes back here, keyed by its exact size, and the next tensor of
 * that size takes it (zero-filled again). At most {@code maxIdleBytes} are kept idle; beyond that, and when the
 * backend closes, arenas are closed for real.
 */
final class SegmentCache implements AutoCloseable {
    /** Alignment of every allocation: a cache line, and a full AVX-512 vector. */
    static final long ALIGNMENT = 64;

    /** One allocation: its arena and the segment it holds. */
    record Block(Arena arena, MemorySegment segment) {}

    private final Map<Long, ConcurrentLinkedDeque<Block>> idle = new ConcurrentHashMap<>();
    private final AtomicLong idleBytes = new AtomicLong();
    private final long maxIdleBytes;
    private volatile boolean closed;

    SegmentCache(long maxIdleBytes) {
        this.maxIdleBytes = maxIdleBytes;
    }

    /** @return a zero-filled block of {@code bytes}, recycled when one of that size is idle */
    Block take(long bytes) {
        ConcurrentLinkedDeque<Block> q = idle.get(bytes);
        Block b = q == null ? null : q.pollFirst();
        if (b != null) {
            idleBytes.addAndGet(-bytes);
            b.segment().fill((byte) 0);
            return b;
        }
        Arena a = Arena.ofShared();
        try {
            // Arena.allocate zero-fills
            return new Block(a, a.allocate(bytes, ALIGNMENT));
        } catch (RuntimeException | OutOfMemoryError e) {
            a.close();
            throw e;
        }
    }

    /** Takes back a block whose tensor was closed: kept for reuse if there is room, else freed. */
    void give(Block b) {
        long bytes = b.segment().byteSize();
        if (!closed && idleBytes.addAndGet(bytes) <= maxIdleBytes) {
            idle.computeIfAbsent(bytes, k -> new ConcurrentLinkedDeque<>()).addFirst(b);
            if (closed) {
                drain();
            }
            return;
        }
        idleBytes.addAndGet(-bytes);
        b.arena().close();
    }

    /** @return bytes held idle for reuse */
    long idleBytes() {
        return Math.max(0, idleBytes.get());
    }

    @Override
    public void close() {
        closed = true;
        drain();
    }

    private void drain() {
        for (ConcurrentLinkedDeque<Block> q : idle.values()) {
            Block b;
            while ((b = q.pollFirst()) != null) {
                idleBytes.addAndGet(-b.segment().byteSize());
                b.arena().close();
            }
        }
    }
}
