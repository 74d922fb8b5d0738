package dev.based4j.conformance;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The working state of one case run: uploads inputs (remembering them to prove later that no kernel changed
 * them), poisons outputs with NaN, compares downloads with the float64 reference, collects broken rules, and
 * frees everything at the end.
 */
final class CheckSession implements AutoCloseable {
    private final Backend backend;
    private final DType dtype;
    private final Supplier<? extends Backend> another;
    private final boolean reduced;
    private final List<AutoCloseable> owned;
    private final List<Input> inputs;
    private final List<Comparison> comparisons;
    private final List<String> failures;

    private record Input(String name, Tensor tensor, HostTensor original) {}

    /** One compared output. */
    record Comparison(String name, double error, double tolerance, String detail) {
        double ratio() {
            return error / tolerance;
        }
    }

    CheckSession(Backend backend, DType dtype, Supplier<? extends Backend> another) {
        this.backend = backend;
        this.dtype = dtype;
        this.another = another;
        // kernels compute in f32 or f64; cases of reduced weight formats hold themselves to their own tolerances
        this.reduced = false;
        this.owned = new ArrayList<>();
        this.inputs = new ArrayList<>();
        this.comparisons = new ArrayList<>();
        this.failures = new ArrayList<>();
    }

    private CheckSession(CheckSession parent, DType dtype) {
        this.backend = parent.backend;
        this.dtype = dtype;
        this.another = parent.another;
        this.reduced = parent.reduced;
        this.owned = parent.owned;
        this.inputs = parent.inputs;
        this.comparisons = parent.comparisons;
        this.failures = parent.failures;
    }

    /**
     * @return a view of this session that uploads in {@code other} precision; what it allocates, checks and
     *     records belongs to this session
     */
    CheckSession inPrecision(DType other) {
        return new CheckSession(this, other);
    }

    Backend backend() {
        return backend;
    }

    DType dtype() {
        return dtype;
    }

    /** @return a fresh instance of the backend under test, closed with the session */
    Backend anotherInstance() {
        if (another == null) {
            throw new IllegalStateException("no second backend instance available");
        }
        Backend b = another.get();
        if (b == null) {
            throw new IllegalStateException("the backend factory returned null");
        }
        owned.add(b);
        return b;
    }

    boolean hasAnotherInstance() {
        return another != null;
    }

    /** Registers something to close at the end (closed in reverse order). */
    <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    /**
     * Uploads an input in the session's precision and remembers its value; at the end the session checks that
     * no kernel changed it.
     */
    Tensor input(String name, double[] data, Shape shape) {
        return input(backend, name, data, shape);
    }

    /** {@link #input(String, double[], Shape)} on another backend instance. */
    Tensor input(Backend on, String name, double[] data, Shape shape) {
        HostTensor host = HostTensor.of(data, shape, dtype);
        Tensor t = own(on.upload(host));
        inputs.add(new Input(name, t, host.to(dtype)));
        return t;
    }

    /** Uploads a tensor that is not checked for changes (a state or a weight). */
    Tensor upload(double[] data, Shape shape) {
        return own(backend.upload(HostTensor.of(data, shape, dtype)));
    }

    /** An output tensor filled with NaN, so that any element the kernel does not write shows up. */
    Tensor poisoned(Shape shape) {
        return poisoned(backend, shape);
    }

    /** {@link #poisoned(Shape)} on another backend instance. */
    Tensor poisoned(Backend on, Shape shape) {
        double[] nan = new double[Math.toIntExact(shape.elementCount())];
        java.util.Arrays.fill(nan, Double.NaN);
        return own(on.upload(HostTensor.of(nan, shape, dtype)));
    }

    /** Downloads through the tensor's own backend. */
    double[] download(Tensor t) {
        return t.backend().download(t).toDoubleArray();
    }

    /** Ends the case as skipped (for needs the capabilities cannot express in advance). */
    void skip(String reason) {
        throw new Skipped(reason);
    }

    /** Thrown by {@link #skip}. */
    static final class Skipped extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Skipped(String reason) {
            super(reason, null, false, false);
        }
    }

    /** Compares a backend tensor with the reference values. */
    void compare(String name, Tensor actual, double[] reference, Tolerances.Kind kind) {
        if (actual.shape().elementCount() != reference.length) {
            fail(name + ": has shape " + actual.shape() + " (" + actual.shape().elementCount()
                    + " elements), the reference has " + reference.length);
            return;
        }
        compare(name, download(actual), reference, kind);
    }

    /**
     * Compares values with the reference values, each element on its own: a non-finite reference value (±∞, NaN) must
     * be matched exactly and takes no part in the scale, so it never hides an error in its neighbours; a finite one
     * is compared relative to {@code max(1, max |finite reference|)}; a non-finite actual value where the reference is
     * finite fails.
     */
    void compare(String name, double[] actual, double[] reference, Tolerances.Kind kind) {
        compare(name, actual, reference, Tolerances.of(dtype, kind, reduced));
    }

    /** {@link #compare(String, double[], double[], Tolerances.Kind)} held to the tolerance {@code tol}. */
    void compare(String name, double[] actual, double[] reference, double tol) {
        if (actual.length != reference.length) {
            fail(name + ": has " + actual.length + " elements, the reference has " + reference.length);
            return;
        }
        double scale = 1;
        for (double r : reference) {
            if (Double.isFinite(r)) {
                scale = Math.max(scale, Math.abs(r));
            }
        }
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.length; i++) {
            double a = actual[i];
            double r = reference[i];
            if (!Double.isFinite(r)) {
                if (Double.compare(a, r) != 0) {
                    comparisons.add(new Comparison(name, Double.POSITIVE_INFINITY, tol, name + "[" + i + "] is " + a
                            + ", expected exactly " + r + " (a non-finite reference value is matched exactly)"));
                    return;
                }
                continue;
            }
            if (!Double.isFinite(a)) {
                comparisons.add(new Comparison(name, Double.POSITIVE_INFINITY, tol, name + "[" + i + "] is " + a
                        + ", expected " + r + (Double.isNaN(a)
                                ? " (element not written: outputs are poisoned with NaN before the call)"
                                : "")));
                return;
            }
            double d = Math.abs(a - r);
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        double err = worst / scale;
        String detail = at < 0 ? name + ": exact"
                : String.format(Locale.ROOT, "%s: max relative error %.3e at index %d (got %.9g, expected %.9g)", name,
                        err, at, actual[at], reference[at]);
        comparisons.add(new Comparison(name, err, tol, detail));
    }

    /**
     * Checks that {@code actual} picks the token {@code reference} picks (its largest logit) at every position of
     * {@code [positions, vocab]} logits: the greedy tokens a model would generate there. A position where the
     * reference's two best logits tie within {@code 1e-9} relative is not held to a choice.
     */
    void expectSameGreedyTokens(String name, double[] actual, double[] reference, int vocab) {
        int positions = reference.length / vocab;
        int agree = 0;
        String first = null;
        for (int p = 0; p < positions; p++) {
            int want = argmax(reference, p * vocab, vocab);
            int got = argmax(actual, p * vocab, vocab);
            double margin = reference[p * vocab + want] - secondBest(reference, p * vocab, vocab, want);
            if (got == want || margin <= 1e-9 * Math.max(1, Math.abs(reference[p * vocab + want]))) {
                agree++;
            } else if (first == null) {
                first = String.format(Locale.ROOT, "position %d picks token %d, the float64 reference %d (by a margin"
                        + " of %.3g)", p, got, want, margin);
            }
        }
        if (first != null) {
            fail(name + ": greedy tokens agree at " + agree + " of " + positions + " positions; " + first);
        }
    }

    private static int argmax(double[] a, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[from + i] > a[from + best]) {
                best = i;
            }
        }
        return best;
    }

    private static double secondBest(double[] a, int from, int n, int skip) {
        double best = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (i != skip) {
                best = Math.max(best, a[from + i]);
            }
        }
        return best;
    }

    /** Records a broken rule. */
    void fail(String message) {
        failures.add(message);
    }

    /** Records a broken rule unless {@code condition} holds. */
    void expect(boolean condition, String message) {
        if (!condition) {
            failures.add(message);
        }
    }

    /**
     * Runs {@code call} and checks that it throws {@code type} whose message names {@code parameter}
     * (contains {@code "parameter:"}) and every one of {@code words}.
     */
    void expectRefused(String rule, Class<? extends RuntimeException> type, String parameter, Runnable call,
            String... words) {
        try {
            call.run();
            fail(rule + ": expected " + type.getSimpleName() + " naming '" + parameter + "', but the call succeeded");
        } catch (RuntimeException e) {
            if (!type.isInstance(e)) {
                fail(rule + ": expected " + type.getSimpleName() + " naming '" + parameter + "', got " + e);
                return;
            }
            String m = String.valueOf(e.getMessage());
            if (parameter != null && !m.contains(parameter + ":") && !m.contains(parameter + " ")
                    && !m.contains("'" + parameter + "'")) {
                fail(rule + ": the message does not name the parameter '" + parameter + "': " + m);
                return;
            }
            for (String w : words) {
                if (!m.toLowerCase(Locale.ROOT).contains(w.toLowerCase(Locale.ROOT))) {
                    fail(rule + ": the message does not say '" + w + "': " + m);
                    return;
                }
            }
        }
    }

    /** Checks that no registered input was changed by the kernels. */
    void verifyInputsUnchanged() {
        for (Input in : inputs) {
            if (in.tensor().isClosed()) {
                continue;
            }
            HostTensor now = in.tensor().backend().download(in.tensor());
            long n = now.shape().elementCount();
            for (long i = 0; i < n; i++) {
                double a = now.getDouble(i);
                double b = in.original().getDouble(i);
                if (Double.doubleToLongBits(a) != Double.doubleToLongBits(b)) {
                    fail("input " + in.name() + " was changed by the kernel: element " + i + " is " + a + ", was " + b);
                    break;
                }
            }
        }
    }

    /** @return the verdict from the comparisons and broken rules */
    CaseResult result() {
        Comparison worst = null;
        for (Comparison c : comparisons) {
            if (worst == null || c.ratio() > worst.ratio() || Double.isNaN(c.ratio())) {
                worst = c;
            }
        }
        double err = worst == null ? Double.NaN : worst.error();
        double tol = worst == null ? Double.NaN : worst.tolerance();
        List<String> problems = new ArrayList<>(failures);
        for (Comparison c : comparisons) {
            if (!(c.error() <= c.tolerance())) {
                problems.add(c.detail() + " > tolerance " + String.format(Locale.ROOT, "%.0e", c.tolerance()));
            }
        }
        if (!problems.isEmpty()) {
            return new CaseResult(Verdict.FAIL, err, tol, String.join("; ", problems), null);
        }
        String msg = worst == null ? "every rule held" : "worst output " + worst.detail();
        return new CaseResult(Verdict.PASS, err, tol, msg, null);
    }

    /** Frees everything the session allocated, in reverse order; a failure to free is a broken rule. */
    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            AutoCloseable c = owned.get(i);
            try {
                c.close();
            } catch (Exception | LinkageError e) {
                fail("closing " + c + " failed: " + e);
            }
        }
        owned.clear();
    }
}
