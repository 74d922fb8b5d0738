package dev.based4j.layer;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.WeightFormat;
import java.util.Map;
import java.util.Objects;

/**
 * Where a layer finds its weights, by checkpoint name relative to the layer (e.g. {@code proj_q.weight}).
 * Model loading wraps a safetensors file with a prefix such as {@code transformer.layers.1.mixer.}.
 *
 * <p>A matrix weight (a projection, the MLP, the embedding, the head) is asked for with {@link #weight} in the
 * model's {@link WeightFormat}; an int8 matrix comes with its scales under {@code <name>.scales}. A source that can
 * produce a format more cheaply than by converting a whole float tensor (a checkpoint file, read and quantized a
 * chunk at a time) overrides {@link #weight}.
 */
@FunctionalInterface
public interface WeightSource {
    /** Suffix of the scales of an int8 weight: {@code proj_q.weight.scales} for {@code proj_q.weight}. */
    String SCALES = ".scales";

    /**
     * @return the tensor named {@code name}
     * @throws IllegalArgumentException naming the tensor when it is missing
     */
    HostTensor get(String name);

    /**
     * The matrix weight {@code name} of shape {@code expected} in {@code format}. By default: an int8 tensor is taken
     * as stored, with its {@code name.scales} (it must then be the format asked for); a float tensor is converted
     * ({@link HostWeight#convert}).
     *
     * @throws IllegalArgumentException naming the tensor when it is missing, is not of shape {@code expected}, its
     *     stored int8 form is not {@code format}, its scales do not fit, or a value does not fit the format
     */
    default HostWeight weight(String name, Shape expected, WeightFormat format) {
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(format, "format");
        HostTensor t = get(name);
        if (t == null) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' is missing (the source returned null)");
        }
        if (!t.shape().equals(expected)) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected shape " + expected + ", found "
                    + t.shape());
        }
        if (t.dtype() != DType.I8) {
            return HostWeight.convert(name, t, format);
        }
        HostWeight stored = HostWeight.stored(name, t, get(name + SCALES));
        if (!stored.format().equals(format)) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' is stored as " + stored.format().label()
                    + " (with " + name + SCALES + "); load it as " + stored.format().label() + ", not "
                    + format.label());
        }
        return stored;
    }

    /** @return a source over a map; a missing name is an error that names it and lists what is there */
    static WeightSource of(Map<String, HostTensor> tensors) {
        Objects.requireNonNull(tensors, "tensors");
        return name -> {
            HostTensor t = tensors.get(name);
            if (t == null) {
                throw new IllegalArgumentException("weights: missing tensor '" + name + "'; present: "
                        + new java.util.TreeSet<>(tensors.keySet()));
            }
            return t;
        };
    }

    /** @return a view that prepends {@code prefix} to every name, of {@link #weight} too */
    default WeightSource prefixed(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        WeightSource outer = this;
        return new WeightSource() {
            @Override
            public HostTensor get(String name) {
                return outer.get(prefix + name);
            }

            @Override
            public HostWeight weight(String name, Shape expected, WeightFormat format) {
                return outer.weight(prefix + name, expected, format);
            }
        };
    }
}
