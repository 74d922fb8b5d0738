package dev.based4j.conformance.hardening;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.layer.LayerStack;
import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * One backend instance, many threads: each thread decodes its own token stream on a state of its own — through one
 * shared small BASED stack (BaseConv, linear attention, sliding window, MLPs) when the backend runs whole models,
 * else through linear attention alone — and the outputs of every step must be bit-identical to the same stream
 * decoded alone on one thread. Then two threads decode into one shared linear-attention state: every call either
 * completes or is refused with {@link IllegalStateException} (one writer per tensor), and the shared state ends
 * bit-identical to as many steps done serially as calls completed. A backend without linear attention cannot run
 * either check ({@link #cannotRun}).
 */
public final class ConcurrencyCheck {
    private static final int VOCAB = 64;

    private ConcurrencyCheck() {}

    /**
     * What a run saw.
     *
     * @param backend the backend's name
     * @param threads threads that decoded at once
     * @param stepsPerThread decode steps each
     * @param mismatchedThreads threads whose logits differed from their serial run (must be 0)
     * @param sharedCompleted calls on the shared state that completed
     * @param sharedRefused calls on the shared state refused as concurrent writes
     * @param sharedStateExact whether the shared state equals the completed steps done serially
     * @param problems anything else that went wrong
     */
    public record Report(String backend, int threads, int stepsPerThread, int mismatchedThreads,
            long sharedCompleted, long sharedRefused, boolean sharedStateExact, List<String> problems) {
        /** @return whether the backend passed */
        public boolean passed() {
            return mismatchedThreads == 0 && sharedStateExact && problems.isEmpty();
        }

        /** @return one line with the figures */
        public String summary() {
            return backend + ": " + threads + " threads x " + stepsPerThread + " decode steps, " + mismatchedThreads
                    + " threads differing from serial; shared state: " + sharedCompleted + " calls completed, "
                    + sharedRefused + " refused as concurrent writes, state exact " + sharedStateExact
                    + (problems.isEmpty() ? "" : "; problems: " + problems);
        }
    }

    /** @return why this check cannot run on {@code backend}, or empty when it can */
    public static java.util.Optional<String> cannotRun(Backend backend) {
        DType dtype = dtypeOf(backend);
        if (!backend.capabilities().supports(Operation.LINEAR_ATTENTION, dtype)
                || !backend.capabilities().supports(Operation.LINEAR_ATTENTION, new Taylor(4))) {
            return java.util.Optional.of("backend " + backend.name() + " supplies no linear attention with the Taylor"
                    + " map: the thread checks decode through it");
        }
        return java.util.Optional.empty();
    }

    private static DType dtypeOf(Backend backend) {
        return backend.capabilities().precisions().contains(DType.F32) ? DType.F32
                : backend.capabilities().precisions().iterator().next();
    }

    /** One thread's work: decodes a seeded stream and returns the CRC-32C of every step's outputs. */
    @FunctionalInterface
    private interface DecodeStream {
        long decode(long seed, int steps);
    }

    /**
     * Runs both checks; the backend stays open.
     *
     * @throws IllegalArgumentException when {@link #cannotRun} says why it cannot
     */
    public static Report run(Backend backend, int threads, int stepsPerThread, long seed) throws Exception {
        cannotRun(backend).ifPresent(why -> {
            throw new IllegalArgumentException("backend: " + why);
        });
        DType dtype = dtypeOf(backend);
        List<String> problems = new ArrayList<>();
        int mismatched = 0;
        LayerStack stack = backend.capabilities().runsModels()
                ? LayerStack.random(backend, dtype, LayerStack.Config.based(VOCAB, 16, 3, 2, 4, 3), seed) : null;
        DecodeStream stream = stack != null ? (s, n) -> decodeStream(stack, s, n) : (s, n) -> linearStream(backend, dtype, s, n);
        try {
            long[] serial = new long[threads];
            for (int t = 0; t < threads; t++) {
                serial[t] = stream.decode(seed + t, stepsPerThread);
            }
            long[] parallel = new long[threads];
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                CyclicBarrier start = new CyclicBarrier(threads);
                List<Future<Long>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long s = seed + t;
                    futures.add(pool.submit(() -> {
                        start.await();
                        return stream.decode(s, stepsPerThread);
                    }));
                }
                for (int t = 0; t < threads; t++) {
                    parallel[t] = futures.get(t).get(30, TimeUnit.MINUTES);
                }
            } finally {
                pool.shutdownNow();
            }
            for (int t = 0; t < threads; t++) {
                if (serial[t] != parallel[t]) {
                    mismatched++;
                    problems.add("thread " + t + ": outputs checksum " + Long.toHexString(parallel[t])
                            + " concurrently, " + Long.toHexString(serial[t]) + " serially");
                }
            }
        } finally {
            if (stack != null) {
                stack.close();
            }
        }
        long[] shared = {0, 0};
        boolean exact = sharedState(backend, dtype, Math.max(50, stepsPerThread / 4), shared, problems);
        return new Report(backend.name(), threads, stepsPerThread, mismatched, shared[0], shared[1], exact,
                List.copyOf(problems));
    }

    /** Decodes a seeded token stream on a fresh state; returns the CRC-32C of every step's logits. */
    private static long decodeStream(LayerStack stack, long seed, int steps) {
        SplittableRandom r = new SplittableRandom(seed);
        CRC32C crc = new CRC32C();
        try (LayerStack.State state = stack.newState(1)) {
            for (int i = 0; i < steps; i++) {
                try (Tensor logits = stack.decode(new int[] {r.nextInt(VOCAB)}, state)) {
                    HostTensor host = stack.backend().download(logits);
                    crc.update(host.segment().asByteBuffer());
                }
            }
            if (state.position() != steps) {
                throw new IllegalStateException("state: position " + state.position() + " after " + steps + " steps");
            }
        }
        return crc.getValue();
    }

    /** Decodes a seeded stream of linear-attention tokens on a fresh state; returns the CRC-32C of the outputs. */
    private static long linearStream(Backend backend, DType dtype, long seed, int steps) {
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(4));
        SplittableRandom r = new SplittableRandom(seed);
        CRC32C crc = new CRC32C();
        Shape s = Shape.of(1, 2, 1, 4);
        try (LinearAttentionState state = LinearAttentionState.zeros(backend, 1, 2, spec.expandedDim(), 4, dtype);
                Tensor out = backend.allocate(s, dtype)) {
            for (int i = 0; i < steps; i++) {
                try (Tensor q = backend.upload(HostTensor.of(r.doubles(8, -1, 1).toArray(), s, dtype));
                        Tensor k = backend.upload(HostTensor.of(r.doubles(8, -1, 1).toArray(), s, dtype));
                        Tensor v = backend.upload(HostTensor.of(r.doubles(8, -1, 1).toArray(), s, dtype))) {
                    backend.linearAttentionDecode(spec, q, k, v, state, out);
                    crc.update(backend.download(out).segment().asByteBuffer());
                }
            }
        }
        return crc.getValue();
    }

    /**
     * Two threads decode into one state with the same inputs; returns whether the state ends equal to as many
     * serial steps as completed. {@code counts} receives completed and refused calls.
     */
    private static boolean sharedState(Backend backend, DType dtype, int stepsEach, long[] counts,
            List<String> problems) throws Exception {
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(4));
        SplittableRandom r = new SplittableRandom(7);
        double[][] data = new double[3][2 * 4];
        for (double[] d : data) {
            for (int i = 0; i < d.length; i++) {
                d[i] = r.nextDouble(-1, 1);
            }
        }
        Shape s = Shape.of(1, 2, 1, 4);
        try (Tensor q = backend.upload(HostTensor.of(data[0], s, dtype));
                Tensor k = backend.upload(HostTensor.of(data[1], s, dtype));
                Tensor v = backend.upload(HostTensor.of(data[2], s, dtype));
                LinearAttentionState st = LinearAttentionState.zeros(backend, 1, 2, spec.expandedDim(), 4, dtype)) {
            AtomicLong completed = new AtomicLong();
            AtomicLong refused = new AtomicLong();
            List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                CyclicBarrier start = new CyclicBarrier(2);
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    fs.add(pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < stepsEach; i++) {
                            try (Tensor out = backend.allocate(s, dtype)) {
                                try {
                                    backend.linearAttentionDecode(spec, q, k, v, st, out);
                                    completed.incrementAndGet();
                                } catch (IllegalStateException e) {
                                    if (e.getMessage() != null && e.getMessage().contains("one thread at a time")) {
                                        refused.incrementAndGet();
                                    } else {
                                        wrong.add(e.toString());
                                    }
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(10, TimeUnit.MINUTES);
                }
            } finally {
                pool.shutdownNow();
            }
            counts[0] = completed.get();
            counts[1] = refused.get();
            problems.addAll(wrong);
            if (st.position() != completed.get()) {
                problems.add("shared state: position " + st.position() + " after " + completed.get()
                        + " completed calls");
                return false;
            }
            try (LinearAttentionState twin = LinearAttentionState.zeros(backend, 1, 2, spec.expandedDim(), 4, dtype);
                    Tensor out = backend.allocate(s, dtype)) {
                for (long i = 0; i < completed.get(); i++) {
                    backend.linearAttentionDecode(spec, q, k, v, twin, out);
                }
                return Arrays.equals(backend.download(st.kv()).toDoubleArray(),
                        backend.download(twin.kv()).toDoubleArray())
                        && Arrays.equals(backend.download(st.z()).toDoubleArray(),
                                backend.download(twin.z()).toDoubleArray());
            }
        }
    }
}
