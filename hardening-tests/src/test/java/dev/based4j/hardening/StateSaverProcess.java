package dev.based4j.hardening;

import dev.based4j.state.StateFormat;
import dev.based4j.state.StateSnapshot;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.nio.file.Path;
import java.util.List;

/**
 * The child process of {@link StateFileCrashTest}: saves a large state to one file again and again, generation
 * {@code g} at position {@code g} with every element equal to {@code g}, and prints each generation once it is saved,
 * until it is killed.
 */
public final class StateSaverProcess {
    private StateSaverProcess() {}

    /** Elements of the state: 16 MiB of f32, so a save takes long enough to be killed in the middle. */
    static final int ELEMENTS = 4 << 20;

    /** @param args the file, and the first generation to write */
    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        HostTensor t = HostTensor.allocate(Shape.of(ELEMENTS), DType.F32);
        for (long g = Long.parseLong(args[1]); ; g++) {
            t.segment().fill((byte) 0);
            float v = g;
            for (long i = 0; i < ELEMENTS; i++) {
                t.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, v);
            }
            StateFormat.save(file, List.of(new StateSnapshot(StateSnapshot.Kind.CONV, g, List.of(),
                    List.of(new StateSnapshot.Entry("window", t.reshape(Shape.of(1, 4, ELEMENTS / 4)))))));
            System.out.println("saved " + g);
            System.out.flush();
        }
    }
}
