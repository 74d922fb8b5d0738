package dev.based4j.opencl.kernels;

import dev.based4j.featuremap.AllPoly;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Performer;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.tensor.DType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Device copies of the feature maps' weights (Performer's projection, AllPoly's two matrices), uploaded once per
 * map and element type and kept in a small LRU cache; evicted buffers are released, and {@link #close()} releases
 * the rest.
 */
public final class MapWeights implements AutoCloseable {
    private static final int CAPACITY = 16;

    private record Key(FeatureMap map, DType dtype) {}

    private final ClContext cl;
    private final Map<Key, List<ClBuffer>> cache = new LinkedHashMap<>(CAPACITY, 0.75f, true);

    /** @param cl the context the buffers live in */
    public MapWeights(ClContext cl) {
        this.cl = cl;
    }

    /** @return the map's weight buffers (none, one or two) as {@code dtype} */
    synchronized List<ClBuffer> of(FeatureMap map, DType dtype) {
        Key key = new Key(map, dtype);
        List<ClBuffer> buffers = cache.get(key);
        if (buffers == null) {
            buffers = new ArrayList<>(2);
            try {
                switch (map) {
                    case Performer p -> buffers.add(cl.upload(p.projection(), dtype));
                    case AllPoly a -> {
                        buffers.add(cl.upload(a.p1(), dtype));
                        buffers.add(cl.upload(a.p2(), dtype));
                    }
                    default -> { }
                }
            } catch (RuntimeException e) {
                buffers.forEach(ClBuffer::close);
                throw e;
            }
            cache.put(key, buffers);
            if (cache.size() > CAPACITY) {
                var eldest = cache.entrySet().iterator().next();
                eldest.getValue().forEach(ClBuffer::close);
                cache.remove(eldest.getKey());
            }
        }
        return buffers;
    }

    /** Releases every cached buffer. */
    @Override
    public synchronized void close() {
        cache.values().forEach(list -> list.forEach(ClBuffer::close));
        cache.clear();
    }
}
