package dev.based4j.recall.capacity;

import dev.based4j.recall.TokenModel;
import dev.based4j.Backend;
import dev.based4j.state.RecurrentState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Objects;

/**
 * A one-head MQAR model built by hand, not trained: the smallest model that can solve MQAR with an attention
 * head, whose recall then depends only on the head's memory.
 *
 * <p>For token {@code x_t} at position {@code t}: query {@code q_t = K[x_t]}, key {@code k_t = K[x_{t-1}]}
 * ({@code 0} at {@code t = 0}), value {@code v_t = W[x_t]}, with the random embeddings {@code K, W} of
 * {@link RecallEmbeddings}. Writing the previous token's key with the current token's value is the shift that the
 * short convolution (BaseConv) of the paper's two-layer MQAR models learns; a key-value pair {@code k v} of the
 * context thus stores {@code K[k] → W[v]}, and the repeated key queries it. The head is one {@link RecallMixer}
 * running on the backend; the prediction at position {@code t} is the token whose value embedding has the largest
 * dot product with the head's output.
 *
 * <p>Not thread-safe. {@link #stateBytesPerSequence()} reports the size of the mixer's state after the last batch.
 */
public final class AssociativeRecallModel implements TokenModel {
    private final Backend backend;
    private final DType dtype;
    private final RecallMixer mixer;
    private final RecallEmbeddings embeddings;
    private long stateBytes = -1;

    /**
     * @param backend runs the head
     * @param dtype precision of the head's tensors
     * @param mixer the head
     * @param embeddings random embeddings whose key dimension is the mixer's
     * @throws IllegalArgumentException for nulls or mismatched key dimensions
     */
    public AssociativeRecallModel(Backend backend, DType dtype, RecallMixer mixer, RecallEmbeddings embeddings) {
        this.backend = require("backend", backend);
        this.dtype = require("dtype", dtype);
        this.mixer = require("mixer", mixer);
        this.embeddings = require("embeddings", embeddings);
        if (embeddings.keyDim() != mixer.keyDim()) {
            throw new IllegalArgumentException("embeddings: expected keyDim " + mixer.keyDim() + " of mixer "
                    + mixer.label() + ", got " + embeddings.keyDim());
        }
    }

    private static <T> T require(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": expected a value, got null");
        }
        return value;
    }

    /** @return the head */
    public RecallMixer mixer() {
        return mixer;
    }

    /**
     * @return bytes of backend memory the head's state holds for one sequence, measured from the state object of
     *     the last batch ({@link RecurrentState#sizeInBytes()} / batch); -1 before the first batch
     */
    public long stateBytesPerSequence() {
        return stateBytes;
    }

    @Override
    public int[][] predict(int[][] tokens) {
        int[][] positions = new int[checkBatch(tokens)][];
        for (int b = 0; b < positions.length; b++) {
            positions[b] = new int[tokens[b].length];
            for (int t = 0; t < positions[b].length; t++) {
                positions[b][t] = t;
            }
        }
        return predictAt(tokens, positions);
    }

    /** Runs the batch through the head once and reads out only at {@code positions}. */
    @Override
    public int[][] predictAt(int[][] tokens, int[][] positions) {
        int batch = checkBatch(tokens);
        int seq = tokens[0].length;
        if (positions == null || positions.length != batch) {
            throw new IllegalArgumentException("positions: expected " + batch + " rows, got "
                    + (positions == null ? "null" : positions.length));
        }
        double[] y = run(tokens, batch, seq);
        int dv = embeddings.valueDim();
        int[][] out = new int[batch][];
        for (int b = 0; b < batch; b++) {
            Objects.requireNonNull(positions[b], "positions[" + b + "]");
            out[b] = new int[positions[b].length];
            for (int j = 0; j < positions[b].length; j++) {
                int t = positions[b][j];
                if (t < 0 || t >= seq) {
                    throw new IllegalArgumentException(
                            "positions[" + b + "][" + j + "]: expected a position in [0, " + seq + "), got " + t);
                }
                out[b][j] = embeddings.readOut(y, (b * seq + t) * dv);
            }
        }
        return out;
    }

    /**
     * The head's output for a batch, widened to double.
     *
     * @return {@code [batch, seq, valueDim]} row-major
     */
    public double[] headOutput(int[][] tokens) {
        int batch = checkBatch(tokens);
        return run(tokens, batch, tokens[0].length);
    }

    private double[] run(int[][] tokens, int batch, int seq) {
        int dk = embeddings.keyDim();
        int dv = embeddings.valueDim();
        double[] q = new double[batch * seq * dk];
        double[] k = new double[batch * seq * dk];
        double[] v = new double[batch * seq * dv];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                int row = b * seq + t;
                embeddings.copyKey(tokens[b][t], q, row * dk);
                if (t > 0) {
                    embeddings.copyKey(tokens[b][t - 1], k, row * dk);
                }
                embeddings.copyValue(tokens[b][t], v, row * dv);
            }
        }
        try (Tensor qt = backend.upload(HostTensor.of(q, Shape.of(batch, 1, seq, dk), dtype));
                Tensor kt = backend.upload(HostTensor.of(k, Shape.of(batch, 1, seq, dk), dtype));
                Tensor vt = backend.upload(HostTensor.of(v, Shape.of(batch, 1, seq, dv), dtype));
                RecurrentState state = mixer.newState(backend, batch, seq, dv, dtype);
                Tensor out = mixer.prefill(backend, qt, kt, vt, state)) {
            stateBytes = state.sizeInBytes() / batch;
            return backend.download(out).toDoubleArray();
        }
    }

    private static int checkBatch(int[][] tokens) {
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("tokens: expected at least one sequence, got "
                    + (tokens == null ? "null" : "none"));
        }
        int seq = tokens[0] == null ? 0 : tokens[0].length;
        for (int b = 0; b < tokens.length; b++) {
            if (tokens[b] == null || tokens[b].length != seq || seq == 0) {
                throw new IllegalArgumentException("tokens: expected rows of equal, non-zero length " + seq
                        + ", row " + b + " has " + (tokens[b] == null ? "null" : tokens[b].length));
            }
        }
        return tokens.length;
    }
}
