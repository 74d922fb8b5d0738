package dev.based4j.benchmarks;

/**
 * JVM flags every measurement fork needs, appended with {@code @Fork(jvmArgsAppend = ...)} so they hold however
 * the runner itself was started: the Vector API module, without which the CPU backend runs its plain loops, and
 * native access for backends that call native code.
 */
final class Forks {
    private Forks() {}

    /** Resolves the incubating Vector API module into the boot layer. */
    static final String VECTOR = "--add-modules=jdk.incubator.vector";
    /** Native access for FFM-based backends, without warnings. */
    static final String NATIVE = "--enable-native-access=ALL-UNNAMED";
    /** Heap of a fork: tensors live in native memory, so little is needed. */
    static final String HEAP = "-Xmx2g";
}
