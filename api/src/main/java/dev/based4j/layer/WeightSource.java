package dev.based4j.layer;

import dev.based4j.tensor.HostTensor;
import java.util.Map;
import java.util.Objects;

/**
 * Where a layer finds its weights, by checkpoint name relative to the layer (e.g. {@code proj_q.weight}).
 * Model loading wraps a safetensors file with a prefix such as {@code transformer.layers.1.mixer.}.
 */
@FunctionalInterface
public interface WeightSource {
    /**
     * @return the tensor named {@code name}
     * @throws IllegalArgumentException naming the tensor when it is missing
     */
    HostTensor get(String name);

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

    /** @return a view that prepends {@code prefix} to every name */
    default WeightSource prefixed(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        return name -> get(prefix + name);
    }
}
