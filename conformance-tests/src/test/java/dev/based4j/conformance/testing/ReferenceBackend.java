package dev.based4j.conformance.testing;

import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.reference.Reference;
import dev.based4j.spi.Allocation;
import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.spi.ConvFamily;
import dev.based4j.spi.Engine;
import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.spi.Memory;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.spi.SlidingWindowFamily;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.util.EnumSet;
import java.util.Set;

/**
 * A test double: an engine whose every kernel is the float64 {@link Reference}, storing tensors as host tensors in
 * their own precision (F32 values are rounded on every write); linear weights and embedding tables may be stored as
 * bf16, f16 or int8. It lets the suite test itself without depending on a
 * real backend; subclasses break single kernels to prove the suite notices. {@link #backend()} and its overloads
 * open it as a {@link Backend}.
 */
public class ReferenceBackend implements Memory<HostTensor>, FeatureMapFamily<HostTensor>,
        LinearAttentionFamily<HostTensor>, SlidingWindowFamily<HostTensor>, BasedAttentionFamily<HostTensor>,
        ConvFamily<HostTensor>, PlumbingFamily<HostTensor> {

    /** @return a backend {@code reference} with every family and feature map, in F32 and F64 */
    public static Backend create() {
        return new ReferenceBackend().backend();
    }

    /** @return another instance, named {@code name} (to play a second, different backend) */
    public static Backend create(String name) {
        return new ReferenceBackend().backend(name, EnumSet.copyOf(DType.compute()), EnumSet.allOf(Operation.class),
                EnumSet.allOf(FeatureMap.Kind.class));
    }

    /** @return this engine as backend {@code reference}, every family and feature map, F32 and F64 */
    public Backend backend() {
        return backend("reference", EnumSet.copyOf(DType.compute()), EnumSet.allOf(Operation.class),
                EnumSet.allOf(FeatureMap.Kind.class));
    }

    /** @return this engine supplying only {@code operations}, in {@code precisions}, for the maps in {@code maps} */
    public Backend backend(String name, Set<DType> precisions, Set<Operation> operations, Set<FeatureMap.Kind> maps) {
        return engine(precisions, operations, maps).open(name);
    }

    /** @return the engine supplying only {@code operations}, in {@code precisions}, for the maps in {@code maps} */
    public Engine<HostTensor> engine(Set<DType> precisions, Set<Operation> operations, Set<FeatureMap.Kind> maps) {
        Engine.Builder<HostTensor> b = Engine.builder(this, precisions)
                .device("host (float64 reference kernels, test double)");
        if (operations.contains(Operation.FEATURE_MAP)) {
            b.featureMaps(this, maps);
        }
        if (operations.contains(Operation.LINEAR_ATTENTION)) {
            b.linearAttention(this, maps);
        }
        if (operations.contains(Operation.SLIDING_WINDOW)) {
            b.slidingWindow(this);
        }
        if (operations.contains(Operation.BASED_ATTENTION)) {
            b.basedAttention(this, maps);
        }
        if (operations.contains(Operation.CAUSAL_CONV)) {
            b.conv(this);
        }
        if (operations.contains(Operation.PLUMBING)) {
            // weights stored as bf16, f16 and int8 too: multiplied by their exact (dequantized) values
            b.plumbing(this, EnumSet.of(DType.BF16, DType.F16, DType.I8));
        }
        return b.build();
    }

    protected static double[] get(HostTensor t) {
        return t.toDoubleArray();
    }

    protected static void put(HostTensor t, double[] values) {
        for (int i = 0; i < values.length; i++) {
            t.setDouble(i, values[i]);
        }
    }

    // ---------------------------------------------------------------- memory

    @Override
    public Allocation<HostTensor> allocate(Shape shape, DType dtype) {
        // host memory of an automatic arena: the garbage collector frees it
        return new Allocation<>(HostTensor.allocate(shape, dtype), shape.elementCount() * dtype.byteSize(), () -> {});
    }

    @Override
    public Allocation<HostTensor> upload(HostTensor host) {
        HostTensor copy = HostTensor.allocate(host.shape(), host.dtype());
        copy.segment().copyFrom(host.segment());
        return new Allocation<>(copy, copy.segment().byteSize(), () -> {});
    }

    @Override
    public void download(HostTensor source, HostTensor destination) {
        destination.segment().copyFrom(source.segment());
    }

    // ---------------------------------------------------------------- kernels

    @Override
    public void apply(FeatureMapFamily.Call<HostTensor> c) {
        put(c.out(), Reference.featureMap(c.map(), get(c.x()), Math.toIntExact(c.rows()), c.seq()));
    }

    @Override
    public void prefill(LinearAttentionFamily.Call<HostTensor> c) {
        double[] kv = get(c.kv());
        double[] z = get(c.z());
        put(c.out(), Reference.linearAttention(c.spec(), get(c.q()), get(c.k()), get(c.v()), c.batch(), c.heads(),
                c.seq(), c.valueDim(), kv, z));
        put(c.kv(), kv);
        put(c.z(), z);
    }

    @Override
    public void decode(LinearAttentionFamily.Call<HostTensor> c) {
        prefill(c);
    }

    @Override
    public void prefill(SlidingWindowFamily.Call<HostTensor> c) {
        double[] rk = get(c.keys());
        double[] rv = get(c.values());
        put(c.out(), Reference.slidingWindow(c.spec(), get(c.q()), get(c.k()), get(c.v()), c.batch(), c.heads(),
                c.seq(), c.keyDim(), c.valueDim(), rk, rv, c.capacity(), c.position()));
        put(c.keys(), rk);
        put(c.values(), rv);
    }

    @Override
    public void decode(SlidingWindowFamily.Call<HostTensor> c) {
        prefill(c);
    }

    @Override
    public void prefill(BasedAttentionFamily.Call<HostTensor> c) {
        double[] kv = get(c.kv());
        double[] z = get(c.z());
        double[] rk = get(c.keys());
        double[] rv = get(c.values());
        put(c.out(), Reference.basedAttention(c.spec(), get(c.q()), get(c.k()), get(c.v()), c.batch(), c.heads(),
                c.seq(), c.valueDim(), kv, z, rk, rv, c.position()));
        put(c.kv(), kv);
        put(c.z(), z);
        put(c.keys(), rk);
        put(c.values(), rv);
    }

    @Override
    public void decode(BasedAttentionFamily.Call<HostTensor> c) {
        prefill(c);
    }

    @Override
    public void causalConv(ConvFamily.Call<HostTensor> c) {
        double[] window = get(c.window());
        put(c.out(), Reference.causalConv(get(c.x()), c.batch(), c.seq(), c.channels(), get(c.weight()),
                c.kernelSize(), window));
        put(c.window(), window);
    }

    @Override
    public void linear(LinearCall<HostTensor> c) {
        put(c.out(), Reference.linear(get(c.x()), Math.toIntExact(c.rows()), c.inFeatures(),
                weight(c.weight(), c.scales(), c.inFeatures(), c.groupSize()), c.outFeatures(),
                c.bias() == null ? null : get(c.bias())));
    }

    /** @return the values of a weight with {@code columns} per row, int8 times its scale per row or group */
    protected static double[] weight(HostTensor values, HostTensor scales, int columns, int groupSize) {
        double[] w = get(values);
        if (scales != null) {
            double[] s = get(scales);
            int run = groupSize == 0 ? columns : groupSize;
            int runs = columns / run;
            for (int i = 0; i < w.length; i++) {
                w[i] *= s[i / columns * runs + i % columns / run];
            }
        }
        return w;
    }

    @Override
    public void rmsNorm(NormCall<HostTensor> c) {
        put(c.out(), Reference.rmsNorm(get(c.x()), Math.toIntExact(c.rows()), c.dim(), get(c.weight()), c.eps()));
    }

    @Override
    public void silu(UnaryCall<HostTensor> c) {
        put(c.out(), Reference.silu(get(c.x())));
    }

    @Override
    public void gelu(UnaryCall<HostTensor> c) {
        put(c.out(), Reference.gelu(get(c.x())));
    }

    @Override
    public void add(BinaryCall<HostTensor> c) {
        double[] x = get(c.a());
        double[] y = get(c.b());
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
        put(c.out(), x);
    }

    @Override
    public void multiply(BinaryCall<HostTensor> c) {
        double[] x = get(c.a());
        double[] y = get(c.b());
        for (int i = 0; i < x.length; i++) {
            x[i] *= y[i];
        }
        put(c.out(), x);
    }

    @Override
    public void embedding(EmbeddingCall<HostTensor> c) {
        put(c.out(), Reference.embedding(weight(c.table(), c.scales(), c.dim(), c.groupSize()), c.dim(), c.ids()));
    }

    @Override
    public void rotary(RotaryCall<HostTensor> c) {
        put(c.out(), Reference.rotary(get(c.x()), Math.toIntExact(c.rows()), c.seq(), c.dim(), c.startPosition(),
                c.rotaryDim(), c.base()));
    }

    @Override
    public void splitHeads(HeadsCall<HostTensor> c) {
        put(c.out(), Reference.splitHeads(get(c.x()), c.batch(), c.seq(), c.heads(), c.headDim()));
    }

    @Override
    public void mergeHeads(HeadsCall<HostTensor> c) {
        put(c.out(), Reference.mergeHeads(get(c.x()), c.batch(), c.heads(), c.seq(), c.headDim()));
    }

    @Override
    public void slice(SliceCall<HostTensor> c) {
        put(c.out(), Reference.slice(get(c.x()), Math.toIntExact(c.rows()), c.columns(), c.from(), c.width()));
    }
}
