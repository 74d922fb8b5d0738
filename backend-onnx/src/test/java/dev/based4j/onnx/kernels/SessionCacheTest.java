package dev.based4j.onnx.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtEnvironment;
import dev.based4j.onnx.ExecutionProvider;
import dev.based4j.onnx.OnnxKernelException;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.graph.Value;
import dev.based4j.tensor.DType;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The session cache's bound, and what a run hands ONNX Runtime and commits. */
class SessionCacheTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final SessionCache sessions = new SessionCache(OrtEnvironment.getEnvironment(), ExecutionProvider.CPU, 1, 0, 2);

    @AfterEach
    void close() {
        sessions.close();
    }

    /** {@code y = x · scale}: a distinct graph per scale. */
    private static GraphBuilder scaled(double scale) {
        GraphBuilder g = new GraphBuilder("scaled[" + scale + "]", ElementType.FLOAT);
        Value x = g.input("x", "n");
        g.output(g.mul(x, g.scalar(scale)), "y", "n");
        return g;
    }

    private static OnnxBuffer floats(float... values) {
        OnnxBuffer b = OnnxBuffer.allocate(values.length, DType.F32);
        try (OnnxBuffer.Lease l = b.lease()) {
            for (int i = 0; i < values.length; i++) {
                l.segment().setAtIndex(F32, i, values[i]);
            }
        }
        return b;
    }

    private static float[] read(OnnxBuffer b) {
        try (OnnxBuffer.Lease l = b.lease()) {
            return l.segment().toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    private void scale(double scale, OnnxBuffer x, OnnxBuffer y) {
        KernelRun.run(sessions, new SessionCache.Key("scaled", scale, DType.F32), () -> scaled(scale),
                r -> r.in("x", x, x.elements()).out("y", y, y.elements()));
    }

    @Nested
    class Bound {
        @Test
        void keepsTheMostRecentlyUsedSessionsAndStillRunsEvictedOnes() {
            OnnxBuffer x = floats(1, 2);
            OnnxBuffer y = floats(0, 0);
            for (double s : new double[] {2, 3, 4, 2, 5}) {
                scale(s, x, y);
                assertThat(read(y)).as("x · %s", s).containsExactly((float) s, (float) (2 * s));
            }
            assertThat(sessions.size()).isEqualTo(2);
            x.free();
            y.free();
        }

        @Test
        void anEvictedSessionInUseIsClosedOnlyAfterItsRun() {
            OnnxBuffer x = floats(1);
            OnnxBuffer y = floats(0);
            SessionCache.Kernel held = sessions.lease(new SessionCache.Key("scaled", 2.0, DType.F32), () -> scaled(2));
            scale(3, x, y);
            scale(4, x, y); // evicts the session of 2, still leased
            assertThat(sessions.size()).isEqualTo(2);
            KernelRun.run(sessions.env(), held, r -> r.in("x", x, 1).out("y", y, 1));
            assertThat(read(y)).containsExactly(2f);
            held.close();
            x.free();
            y.free();
        }

        @Test
        void refusesLeasesAfterItWasClosed() {
            sessions.close();
            assertThatThrownBy(() -> sessions.lease("any", () -> scaled(1))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
    }

    @Nested
    class Runs {
        @Test
        void refuseDimensionsThatDoNotDescribeTheBufferBeforeOnnxRuntimeSeesThem() {
            OnnxBuffer x = floats(1, 2, 3);
            OnnxBuffer y = floats(0, 0, 0);
            assertThatThrownBy(() -> KernelRun.run(sessions, "bad", () -> scaled(2),
                    r -> r.in("x", x, 2).out("y", y, 3)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("x: dimensions [2] do not describe OnnxBuffer[f32, 3 elements]");
            assertThatThrownBy(() -> KernelRun.run(sessions, "bad", () -> scaled(2),
                    r -> r.in("x", x, 3, 0).out("y", y, 3)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("[3, 0]");
            x.free();
            y.free();
        }

        @Test
        void refuseNegativeIntegerInputs() {
            OnnxBuffer x = floats(1);
            assertThatThrownBy(() -> KernelRun.run(sessions, "bad", () -> scaled(2), r -> r.longs("pos", 3, -1)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("pos: expected values >= 0");
            x.free();
        }

        /** {@code y = x[idx]} and the state {@code s ← 2·s}: a run that fails must not commit the state. */
        private static GraphBuilder gatherAndDouble() {
            GraphBuilder g = new GraphBuilder("gather_and_double[f32]", ElementType.FLOAT);
            Value s = g.input("s", 3);
            Value idx = g.input("idx", ElementType.INT64, 1);
            g.output(g.op("Gather", s, idx), "y", 1);
            g.output(g.add(s, s), "s_out", 3);
            return g;
        }

        private void gather(OnnxBuffer state, OnnxBuffer y, long index) {
            KernelRun.run(sessions, "gather_and_double", Runs::gatherAndDouble,
                    r -> r.in("s", state, 3).longs("idx", index).out("y", y, 1).state("s_out", state, 3));
        }

        @Test
        void commitAStateOnlyWhenTheRunSucceeded() {
            OnnxBuffer state = floats(1, 2, 3);
            OnnxBuffer y = floats(0);
            assertThatThrownBy(() -> gather(state, y, 7)).isInstanceOf(OnnxKernelException.class)
                    .hasMessageContaining("gather_and_double[f32]");
            assertThat(read(state)).as("state after a failed run").containsExactly(1f, 2f, 3f);
            gather(state, y, 1);
            assertThat(read(y)).containsExactly(2f);
            assertThat(read(state)).as("state after a successful run").containsExactly(2f, 4f, 6f);
            state.free();
            y.free();
        }
    }
}
