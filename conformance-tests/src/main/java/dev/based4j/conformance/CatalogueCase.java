package dev.based4j.conformance;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

/** A case of the catalogue: metadata, what it needs from the backend, and a body that runs in a session. */
final class CatalogueCase implements ConformanceCase {
    /** The check itself: allocate through the session, run kernels, compare, record broken rules. */
    @FunctionalInterface
    interface Body {
        void run(CheckSession session) throws Exception;
    }

    private final KernelFamily family;
    private final String id;
    private final String description;
    private final String op;
    private final String shape;
    private final DType dtype;
    private final long seed;
    private final Requirement requirement;
    private final boolean needsAnotherInstance;
    private final Body body;

    CatalogueCase(KernelFamily family, String id, String description, String op, String shape, DType dtype, long seed,
            Requirement requirement, boolean needsAnotherInstance, Body body) {
        this.family = Objects.requireNonNull(family);
        this.id = Objects.requireNonNull(id);
        this.description = Objects.requireNonNull(description);
        this.op = Objects.requireNonNull(op);
        this.shape = Objects.requireNonNull(shape);
        this.dtype = Objects.requireNonNull(dtype);
        this.seed = seed;
        this.requirement = Objects.requireNonNull(requirement);
        this.needsAnotherInstance = needsAnotherInstance;
        this.body = Objects.requireNonNull(body);
    }

    @Override
    public KernelFamily family() {
        return family;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public String op() {
        return op;
    }

    @Override
    public String shape() {
        return shape;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long seed() {
        return seed;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public CaseResult run(Backend backend, Supplier<? extends Backend> anotherInstance) {
        return execute(backend, anotherInstance, requirement, needsAnotherInstance, dtype, body);
    }

    /** Runs a body with the skip rules, the input check and the clean-up every case shares. */
    static CaseResult execute(Backend backend, Supplier<? extends Backend> anotherInstance, Requirement requirement,
            boolean needsAnotherInstance, DType dtype, Body body) {
        if (backend == null) {
            return new CaseResult(Verdict.FAIL, Double.NaN, Double.NaN, "backend: expected a backend, got null", null);
        }
        Optional<String> missing;
        try {
            missing = requirement.missingFrom(backend.name(), backend.capabilities());
        } catch (RuntimeException e) {
            return new CaseResult(Verdict.FAIL, Double.NaN, Double.NaN, "capabilities() failed: " + e, e);
        }
        if (missing.isPresent()) {
            return CaseResult.skipped(missing.get());
        }
        if (needsAnotherInstance && anotherInstance == null) {
            return CaseResult.skipped("needs a second instance of backend " + backend.name() + "; none was given");
        }
        CheckSession s = new CheckSession(backend, dtype, anotherInstance);
        Throwable error = null;
        try {
            body.run(s);
            s.verifyInputsUnchanged();
        } catch (CheckSession.Skipped e) {
            return CaseResult.skipped(e.getMessage());
        } catch (UnsupportedOperationException e) {
            error = e;
            s.fail("the backend refused an operation its capabilities declare: " + e.getMessage());
        } catch (Exception | LinkageError | AssertionError | StackOverflowError e) {
            error = e;
            s.fail("unexpected " + e);
        } finally {
            s.close();
        }
        CaseResult r = s.result();
        return error == null ? r : new CaseResult(r.verdict(), r.maxRelativeError(), r.tolerance(), r.message(), error);
    }

    @Override
    public String toString() {
        return id + " " + displayName();
    }
}
