package dev.based4j.internal;

import dev.based4j.Backend;
import java.util.List;

/**
 * Execution plans for the layer package: a step recorded once on a backend made from an engine and replayed with no
 * validation and no allocation ({@link Capture}).
 */
public final class Plans {
    private Plans() {}

    /** A recorded step. Close it to free the tensors it owns. */
    public interface Recording extends AutoCloseable {
        /**
         * Runs the recorded calls again.
         *
         * @param delta tokens each sequence advanced since the recording (rotary positions move by this)
         */
        void replay(long delta);

        /** @return the token-id arrays of the step's embedding calls, in call order; write a new step's ids there */
        List<int[]> embeddingIds();

        /** Frees the tensors the step allocated. Idempotent. */
        @Override
        void close();
    }

    /**
     * Runs {@code step} once on {@code backend}, recording it.
     *
     * @return the recording, or null when {@code backend} was not made by based4j from an engine (then nothing is
     *     recorded and the caller runs steps eagerly)
     */
    public static Recording record(Backend backend, Runnable step) {
        if (!(backend instanceof KernelBackend<?> kb)) {
            step.run();
            return null;
        }
        Capture c = kb.capture(step);
        return new Recording() {
            private boolean closed;

            @Override
            public void replay(long delta) {
                kb.replay(c, delta);
            }

            @Override
            public List<int[]> embeddingIds() {
                return c.embeddingIds();
            }

            @Override
            public synchronized void close() {
                if (!closed) {
                    closed = true;
                    kb.release(c);
                }
            }
        };
    }
}
