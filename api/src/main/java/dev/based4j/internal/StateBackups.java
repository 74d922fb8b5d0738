package dev.based4j.internal;

import dev.based4j.spi.Allocation;
import dev.based4j.spi.DeviceCopy;
import dev.based4j.spi.Engine;
import dev.based4j.spi.Memory;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Makes kernels that update a state all-or-nothing for engines whose kernels may fail part-way: before the kernel, each
 * of the state's tensors is copied (on the device with the engine's {@link DeviceCopy}, else through the host); if the
 * kernel throws, the copy takes the tensor's place and the half-written memory is freed. Copies made on the device are
 * kept for reuse (a few per shape and type); their bytes count in the backend's allocations.
 *
 * @param <B> the engine's memory handle
 */
final class StateBackups<B> {
    /** Bound on idle backups kept per shape and type. */
    private static final int KEPT = 4;

    private record Key(Shape shape, DType dtype) {}

    private final Memory<B> memory;
    private final DeviceCopy<B> copy;
    private final AllocationLedger ledger;
    private final ConcurrentHashMap<Key, ConcurrentLinkedQueue<Allocation<B>>> idle = new ConcurrentHashMap<>();
    private volatile boolean closed;

    StateBackups(Engine<B> engine, AllocationLedger ledger) {
        this.memory = engine.memory();
        this.copy = engine.copy().orElse(null);
        this.ledger = ledger;
    }

    /**
     * Runs {@code kernel}, which updates {@code tensors}; when it throws, the tensors hold what they held before.
     *
     * @param operation the kernel's name, for the message when even the restore fails
     */
    void guard(List<DeviceTensor<B>> tensors, String operation, Runnable kernel) {
        @SuppressWarnings("unchecked")
        Allocation<B>[] saved = new Allocation[tensors.size()];
        boolean restored = false;
        try {
            for (int i = 0; i < saved.length; i++) {
                saved[i] = backup(tensors.get(i));
            }
            try {
                kernel.run();
            } catch (RuntimeException | Error e) {
                for (int i = 0; i < saved.length; i++) {
                    // the backup stops being a backup: its bytes now count as the tensor's
                    ledger.resized(-saved[i].nativeBytes());
                    tensors.get(i).replace(saved[i]);
                    saved[i] = null;
                }
                restored = true;
                throw e;
            }
        } finally {
            if (!restored) {
                for (int i = 0; i < saved.length; i++) {
                    if (saved[i] != null) {
                        release(saved[i], tensors.get(i));
                    }
                }
            }
        }
    }

    private Allocation<B> backup(DeviceTensor<B> live) {
        if (copy == null) {
            HostTensor host = HostTensor.allocate(live.shape(), live.dtype());
            memory.download(live.buffer(), host);
            return counted(memory.upload(host));
        }
        ConcurrentLinkedQueue<Allocation<B>> queue = idle.get(new Key(live.shape(), live.dtype()));
        Allocation<B> a = queue == null ? null : queue.poll();
        if (a == null) {
            a = counted(memory.allocate(live.shape(), live.dtype()));
        }
        try {
            copy.copy(live.buffer(), 0, a.buffer(), 0, live.shape().elementCount() * live.dtype().byteSize());
        } catch (RuntimeException | Error e) {
            free(a);
            throw e;
        }
        return a;
    }

    private Allocation<B> counted(Allocation<B> a) {
        ledger.resized(a.nativeBytes());
        return a;
    }

    private void release(Allocation<B> a, DeviceTensor<B> like) {
        if (copy == null || closed) {
            free(a);
            return;
        }
        ConcurrentLinkedQueue<Allocation<B>> queue =
                idle.computeIfAbsent(new Key(like.shape(), like.dtype()), k -> new ConcurrentLinkedQueue<>());
        if (queue.size() >= KEPT) {
            free(a);
        } else {
            queue.add(a);
        }
    }

    private void free(Allocation<B> a) {
        ledger.resized(-a.nativeBytes());
        a.free().run();
    }

    /** Frees every idle backup; later ones are freed as soon as they are no longer needed. */
    void close() {
        closed = true;
        for (ConcurrentLinkedQueue<Allocation<B>> queue : idle.values()) {
            for (Allocation<B> a; (a = queue.poll()) != null; ) {
                free(a);
            }
        }
    }
}
