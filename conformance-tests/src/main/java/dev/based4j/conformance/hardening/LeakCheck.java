package dev.based4j.conformance.hardening;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.Allocations;
import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.state.CorruptStateException;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.StateFormat;
import dev.based4j.state.StateSnapshot;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.SplittableRandom;

/**
 * Runs many small kernel calls and many state save/load cycles and checks that they leave the backend's live
 * allocation count where it was, and the process's resident memory flat. Each kernel call allocates what it
 * writes (the allocating forms, a fresh state now and then) and closes it, so a leak of one handle per call shows
 * as thousands of live handles; a leak inside the backend (scratch, driver objects) shows in the RSS.
 *
 * <p>RSS is read after a warm-up of a tenth of the calls (caches, compiled programs and JIT code settle), then at
 * the end; growth above {@link #RSS_SLACK_BYTES} fails. Run it in a JVM whose heap is fixed
 * ({@code -Xms} = {@code -Xmx}, {@code -XX:+AlwaysPreTouch}), or heap growth reads as a leak.
 */
public final class LeakCheck {
    /** RSS growth tolerated over the measured calls: allocator and JIT noise, far below a per-call leak. */
    public static final long RSS_SLACK_BYTES = 48L << 20;

    private LeakCheck() {}

    /**
     * What a run measured.
     *
     * @param backend the backend's name
     * @param kernelCalls kernel calls made after the warm-up
     * @param saveLoadCycles state save/load cycles after the warm-up
     * @param before allocations after the warm-up
     * @param after allocations at the end
     * @param rssBefore resident bytes after the warm-up (-1 where unknown)
     * @param rssAfter resident bytes at the end (-1 where unknown)
     */
    public record Report(String backend, long kernelCalls, long saveLoadCycles, Allocations before,
            Allocations after, long rssBefore, long rssAfter) {
        /** @return live handles gained over the run */
        public long leakedHandles() {
            return after.liveHandles() - before.liveHandles();
        }

        /** @return live bytes gained over the run */
        public long leakedBytes() {
            return after.liveBytes() - before.liveBytes();
        }

        /** @return RSS growth in bytes, or 0 where RSS is unknown */
        public long rssGrowth() {
            return rssBefore < 0 || rssAfter < 0 ? 0 : rssAfter - rssBefore;
        }

        /** @return whether nothing leaked */
        public boolean passed() {
            return leakedHandles() == 0 && leakedBytes() == 0 && after.leakedHandles() == before.leakedHandles()
                    && rssGrowth() <= RSS_SLACK_BYTES;
        }

        /** @return one line with the figures */
        public String summary() {
            return backend + ": " + kernelCalls + " kernel calls and " + saveLoadCycles + " save/load cycles; live "
                    + before.liveHandles() + " -> " + after.liveHandles() + " handles, " + before.liveBytes() + " -> "
                    + after.liveBytes() + " bytes; collected without close " + (after.leakedHandles()
                    - before.leakedHandles()) + "; RSS " + mib(rssBefore) + " -> " + mib(rssAfter) + " MiB";
        }

        private static String mib(long bytes) {
            return bytes < 0 ? "?" : String.format("%.1f", bytes / 1048576.0);
        }
    }

    /**
     * Runs the check.
     *
     * @param backend the backend (stays open)
     * @param kernelCalls small kernel calls to make after the warm-up
     * @param saveLoadCycles state save/load cycles after the warm-up
     */
    public static Report run(Backend backend, int kernelCalls, int saveLoadCycles, long seed) {
        DType dtype = backend.capabilities().precisions().contains(DType.F32) ? DType.F32
                : backend.capabilities().precisions().iterator().next();
        Work work = new Work(backend, dtype, seed);
        try {
            work.calls(Math.max(100, kernelCalls / 10));
            work.cycles(Math.max(10, saveLoadCycles / 10));
            settle();
            Allocations before = backend.allocations();
            OptionalLong rssBefore = ProcessMemory.residentBytes();
            work.calls(kernelCalls);
            work.cycles(saveLoadCycles);
            settle();
            Allocations after = backend.allocations();
            OptionalLong rssAfter = ProcessMemory.residentBytes();
            return new Report(backend.name(), kernelCalls, saveLoadCycles, before, after, rssBefore.orElse(-1),
                    rssAfter.orElse(-1));
        } finally {
            work.close();
        }
    }

    /** Lets the cleaner and the GC catch up, so that what is counted is what is really held. */
    private static void settle() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The calls: a fixed set of small inputs and a rotating mix of kernels. */
    private static final class Work implements AutoCloseable {
        private final Backend backend;
        private final DType dtype;
        private final SplittableRandom random;
        private final List<Tensor> inputs = new ArrayList<>();
        private final boolean plumbing;
        private final boolean linear;
        private final boolean window;
        private final Tensor x;
        private final Tensor w;
        private final Tensor nw;
        private final Tensor q;
        private final Tensor k;
        private final Tensor v;
        private LinearAttentionState linearState;
        private WindowState windowState;
        private long step;

        Work(Backend backend, DType dtype, long seed) {
            this.backend = backend;
            this.dtype = dtype;
            this.random = new SplittableRandom(seed);
            var caps = backend.capabilities();
            plumbing = caps.supports(Operation.PLUMBING, dtype);
            linear = caps.supports(Operation.LINEAR_ATTENTION, dtype) && caps.supports(Operation.LINEAR_ATTENTION, new Taylor(4));
            window = caps.supports(Operation.SLIDING_WINDOW, dtype);
            x = input(Shape.of(1, 2, 8));
            w = input(Shape.of(8, 8));
            nw = input(Shape.of(8));
            q = input(Shape.of(1, 2, 1, 4));
            k = input(Shape.of(1, 2, 1, 4));
            v = input(Shape.of(1, 2, 1, 4));
        }

        private Tensor input(Shape s) {
            double[] d = new double[Math.toIntExact(s.elementCount())];
            for (int i = 0; i < d.length; i++) {
                d[i] = random.nextDouble(-1, 1);
            }
            Tensor t = backend.upload(HostTensor.of(d, s, dtype));
            inputs.add(t);
            return t;
        }

        void calls(long n) {
            LinearAttentionSpec la = LinearAttentionSpec.of(new Taylor(4));
            SlidingWindowSpec sw = SlidingWindowSpec.of(3);
            for (long i = 0; i < n; i++, step++) {
                if (step % 1000 == 0) {
                    // states are allocated and closed too, not only outputs
                    closeStates();
                    if (linear) {
                        linearState = LinearAttentionState.zeros(backend, 1, 2, la.expandedDim(), 4, dtype);
                    }
                    if (window) {
                        windowState = WindowState.empty(backend, 1, 2, 4, 4, 3, dtype);
                    }
                }
                int kind = (int) (step % 6);
                if (kind == 0 && linear) {
                    try (Tensor y = backend.linearAttentionDecode(la, q, k, v, linearState)) {
                        sink(y);
                    }
                } else if (kind == 1 && window) {
                    try (Tensor y = backend.slidingWindowDecode(sw, q, k, v, windowState)) {
                        sink(y);
                    }
                } else if (plumbing) {
                    switch (kind) {
                        case 2 -> {
                            try (Tensor y = backend.linear(x, w, null)) {
                                sink(y);
                            }
                        }
                        case 3 -> {
                            try (Tensor y = backend.rmsNorm(x, nw, 1e-5)) {
                                sink(y);
                            }
                        }
                        case 4 -> {
                            try (Tensor y = backend.silu(x)) {
                                sink(y);
                            }
                        }
                        default -> {
                            try (Tensor y = backend.add(x, x)) {
                                sink(y);
                            }
                        }
                    }
                } else {
                    try (Tensor y = backend.allocate(Shape.of(1, 2, 8), dtype)) {
                        sink(y);
                    }
                }
            }
        }

        /** Downloads one result in 64 so the device queue drains and results are really computed. */
        private void sink(Tensor y) {
            if (step % 64 == 0) {
                backend.download(y);
            }
        }

        void cycles(long n) {
            for (long i = 0; i < n; i++) {
                try {
                    StateSnapshot snap;
                    if (linear && linearState != null) {
                        snap = linearState.snapshot();
                        byte[] bytes = StateFormat.encode(List.of(snap));
                        try (LinearAttentionState back = LinearAttentionState.restore(backend,
                                StateFormat.decode(bytes).get(0), dtype)) {
                            try (Tensor y = backend.linearAttentionDecode(LinearAttentionSpec.of(new Taylor(4)), q, k,
                                    v, back)) {
                                sink(y);
                            }
                        }
                    } else if (window && windowState != null) {
                        snap = windowState.snapshot();
                        byte[] bytes = StateFormat.encode(List.of(snap));
                        try (WindowState back = WindowState.restore(backend, StateFormat.decode(bytes).get(0),
                                dtype)) {
                            sink(back.keys());
                        }
                    }
                } catch (CorruptStateException e) {
                    throw new IllegalStateException("state: a state written a moment ago did not load: " + e, e);
                }
            }
        }

        private void closeStates() {
            if (linearState != null) {
                linearState.close();
                linearState = null;
            }
            if (windowState != null) {
                windowState.close();
                windowState = null;
            }
        }

        @Override
        public void close() {
            closeStates();
            inputs.forEach(Tensor::close);
        }
    }
}
