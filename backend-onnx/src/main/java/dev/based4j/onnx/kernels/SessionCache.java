package dev.based4j.onnx.kernels;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.based4j.onnx.ExecutionProvider;
import dev.based4j.onnx.OnnxKernelException;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.tensor.DType;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.Supplier;

/**
 * The compiled graphs of one backend: one {@link OrtSession} per (kernel, spec, precision), compiled on first use and
 * shared by every thread (sessions are thread-safe). At most {@value #MAX_SESSIONS} are kept, least recently used
 * first out, because every session holds native memory and its own pool of intra-op threads, and the number of
 * distinct specs is up to the caller. A session is closed only when no run holds it.
 *
 * <p>Every session gets the same, validated options: the optimisation level for its precision, the intra-op thread
 * count of the backend (checked against its bound by the settings), and for the CUDA provider the device ordinal.
 */
public final class SessionCache implements AutoCloseable {
    /** What a session is compiled for: the kernel (and its form), the spec or parameters that shape it, the precision. */
    record Key(String op, Object spec, DType dtype) {}

    /** Sessions kept: far more than the distinct kernels a model uses (about 30), few enough to bound threads. */
    public static final int MAX_SESSIONS = 256;

    private final OrtEnvironment env;
    private final ExecutionProvider provider;
    private final int threads;
    private final int cudaDevice;
    private final int maxSessions;
    private final LinkedHashMap<Object, Kernel> sessions = new LinkedHashMap<>(64, 0.75f, true); // guarded by this
    private boolean closed; // guarded by this

    /**
     * @param env ONNX Runtime's environment
     * @param provider the execution provider of every session
     * @param threads intra-op threads per session, 0 for ONNX Runtime's default
     * @param cudaDevice the CUDA device ordinal (CUDA provider only)
     * @throws IllegalArgumentException when {@code env} or {@code provider} is null, or {@code threads} or
     *     {@code cudaDevice} is negative
     */
    public SessionCache(OrtEnvironment env, ExecutionProvider provider, int threads, int cudaDevice) {
        this(env, provider, threads, cudaDevice, MAX_SESSIONS);
    }

    /** As the public constructor, keeping at most {@code maxSessions} sessions (tests use a small bound). */
    SessionCache(OrtEnvironment env, ExecutionProvider provider, int threads, int cudaDevice, int maxSessions) {
        if (env == null || provider == null) {
            throw new IllegalArgumentException((env == null ? "env: expected ONNX Runtime's environment"
                    : "provider: expected an execution provider") + ", got null");
        }
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions: expected at least 1, got " + maxSessions);
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads: expected 0 (ONNX Runtime's default) or more, got " + threads);
        }
        if (cudaDevice < 0) {
            throw new IllegalArgumentException("cudaDevice: expected a device ordinal >= 0, got " + cudaDevice);
        }
        this.env = env;
        this.provider = provider;
        this.threads = threads;
        this.cudaDevice = cudaDevice;
        this.maxSessions = maxSessions;
    }

    /** @return the environment sessions and tensors belong to */
    public OrtEnvironment env() {
        return env;
    }

    /** @return how many compiled sessions are cached */
    public synchronized int size() {
        return sessions.size();
    }

    /**
     * Leases the session of {@code key}, compiling {@code graph} on first use; close the kernel after the run.
     *
     * @throws OnnxKernelException when ONNX Runtime refuses the graph
     */
    public Kernel lease(Object key, Supplier<GraphBuilder> graph) {
        synchronized (this) {
            ensureOpen();
            Kernel k = sessions.get(key);
            if (k != null) {
                k.users++;
                return k;
            }
        }
        // compiled outside the lock: other kernels keep running meanwhile (two threads may both compile a new
        // graph; the second copy is closed)
        Kernel compiled = compile(graph.get());
        List<Kernel> evicted = new ArrayList<>();
        Kernel result;
        synchronized (this) {
            Kernel existing = closed ? null : sessions.get(key);
            if (closed || existing != null) {
                compiled.retired = true;
                evicted.add(compiled);
                result = existing;
            } else {
                compiled.cached = true;
                sessions.put(key, compiled);
                result = compiled;
                evictOver(evicted);
            }
            if (result != null) {
                result.users++;
            }
        }
        evicted.forEach(Kernel::closeSession);
        if (result == null) {
            throw closedError();
        }
        return result;
    }

    private void evictOver(List<Kernel> evicted) {
        Iterator<Kernel> it = sessions.values().iterator();
        while (sessions.size() > maxSessions && it.hasNext()) {
            Kernel k = it.next();
            it.remove();
            k.retired = true;
            if (k.users == 0) {
                evicted.add(k);
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw closedError();
        }
    }

    private static IllegalStateException closedError() {
        return new IllegalStateException("onnx sessions: closed with the backend");
    }

    /**
     * Compiles a graph into a session outside the cache (the cache's own path; tests check its error path).
     *
     * @throws OnnxKernelException naming the graph, with ONNX Runtime's message, when the session cannot be created
     */
    public Kernel compile(GraphBuilder g) {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            // extended optimisations fuse nodes into contrib ops (QuickGelu, FusedMatMul, ...) that ONNX Runtime
            // implements for float32 only; float64 graphs keep the basic (ONNX-level) rewrites
            options.setOptimizationLevel(g.computeType() == ElementType.DOUBLE
                    ? OrtSession.SessionOptions.OptLevel.BASIC_OPT : OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (threads > 0) {
                options.setIntraOpNumThreads(threads);
            }
            // no CPU arena and no memory patterns: both keep, per session, the memory of the largest run it has made
            // (a session serves every shape of its graph), and up to MAX_SESSIONS sessions each holding the scores
            // of their largest prefill add up to more than the machine has; freed after each run, a run's memory is
            // bounded by what ScratchBudget lets it allocate
            options.setCPUArenaAllocator(false);
            options.setMemoryPatternOptimization(false);
            if (provider == ExecutionProvider.CUDA) {
                // no "session.disable_cpu_ep_fallback": ONNX Runtime itself places the int64 shape arithmetic
                // (Shape -> Gather/Concat/Range chains) on the CPU in every CUDA model, and that option refuses any
                // CPU node; the probe has already proven that float kernels run on the device
                options.addCUDA(cudaDevice);
            }
            return new Kernel(this, g.name(), env.createSession(g.toBytes(), options), options);
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw new OnnxKernelException(g.name(), "creating a session", e);
        }
    }

    /** Closes every session no run holds now; the others close when their run ends. Idempotent. */
    @Override
    public void close() {
        List<Kernel> idle = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            for (Kernel k : sessions.values()) {
                k.retired = true;
                if (k.users == 0) {
                    idle.add(k);
                }
            }
            sessions.clear();
        }
        idle.forEach(Kernel::closeSession);
    }

    private void release(Kernel k) {
        synchronized (this) {
            if (k.cached) {
                k.users--;
                if (k.users > 0 || !k.retired) {
                    return;
                }
            } else if (k.retired) {
                return;
            }
            k.retired = true;
            k.cached = false;
        }
        k.closeSession();
    }

    /** A compiled graph: leased for one run by {@link #lease}, or compiled on its own by {@link #compile}. */
    public static final class Kernel implements AutoCloseable {
        private final SessionCache cache;
        private final String graph;
        private final OrtSession session;
        private final OrtSession.SessionOptions options;
        private boolean cached; // guarded by the cache
        private int users; // guarded by the cache
        private boolean retired; // guarded by the cache

        private Kernel(SessionCache cache, String graph, OrtSession session, OrtSession.SessionOptions options) {
            this.cache = cache;
            this.graph = graph;
            this.session = session;
            this.options = options;
        }

        /** @return the graph's name, for messages */
        public String graph() {
            return graph;
        }

        /** @return the session */
        OrtSession session() {
            return session;
        }

        /** Hands a leased kernel back to its cache; closes a kernel that {@link #compile} made. */
        @Override
        public void close() {
            cache.release(this);
        }

        private void closeSession() {
            try {
                session.close();
            } catch (OrtException e) {
                // closing frees native memory; there is nothing to recover at this point
            } finally {
                options.close();
            }
        }
    }

    @Override
    public synchronized String toString() {
        return "SessionCache[" + provider.backendName() + ", " + sessions.size() + " sessions]";
    }
}
