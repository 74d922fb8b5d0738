package dev.based4j.layer;

import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The seeded random weights of {@link LayerStack#randomWeights}, made when asked for: the embedding (or the head) on
 * its own, a block's weights together (the last block asked for is kept until another is), so that building a stack
 * holds at most one block's float weights besides what the backend keeps. The values are those of
 * {@link LayerStack#randomWeights}: the same generator is run through in the same order, drawing and dropping the
 * values of the tables to reach the block seeds.
 */
final class RandomStackWeights implements WeightSource {
    private final LayerStack.Config config;
    private final long seed;
    private final long[] blockSeeds;
    private HostTensor finalNorm;
    private int cachedBlock = -1;
    private Map<String, HostTensor> cached;

    /** {@link LayerStack#randomWeights}: every tensor at once, drawn in order from one generator. */
    static Map<String, HostTensor> all(LayerStack.Config config, long seed) {
        Map<String, HostTensor> w = new LinkedHashMap<>();
        SplittableRandom r = new SplittableRandom(seed);
        int d = config.modelDim();
        if (config.vocabSize() > 0) {
            w.put(LayerStack.EMBEDDING, LayerSupport.uniform(r, Shape.of(config.vocabSize(), d), Math.sqrt(3)));
            if (!config.tiedHead()) {
                w.put(LayerStack.HEAD, LayerSupport.uniform(r, Shape.of(config.vocabSize(), d), 1.0 / Math.sqrt(d)));
            }
        }
        for (int i = 0; i < config.mixers().size(); i++) {
            String prefix = LayerStack.LAYER_PREFIX + i + ".";
            Block.randomWeights(config.mixers().get(i), config.mlp(), r.nextLong())
                    .forEach((k, v) -> w.put(prefix + k, v));
        }
        w.put(LayerStack.FINAL_NORM, LayerSupport.nearOne(r, Shape.of(d)));
        return w;
    }

    /** SplittableRandom's seed increment: {@code n} draws from a seed {@code s} leave it at {@code s + n·GAMMA}. */
    private static final long GAMMA = 0x9e3779b97f4a7c15L;
    /** Whether this JDK's generator advances as above (checked once); otherwise the draws are made and dropped. */
    private static final boolean JUMPS = jumpsMatchDraws();

    RandomStackWeights(LayerStack.Config config, long seed) {
        this.config = config;
        this.seed = seed;
        this.blockSeeds = new long[config.mixers().size()];
    }

    /**
     * The generator after the tables' draws, where the block seeds and the final norm come from; made when first
     * needed, so that a model too large for its memory budget is refused before anything is drawn.
     */
    private void drawBlockSeeds() {
        if (finalNorm != null) {
            return;
        }
        long table = (long) config.vocabSize() * config.modelDim();
        SplittableRandom r = skipped(seed, config.vocabSize() == 0 ? 0 : config.tiedHead() ? table : 2 * table);
        for (int i = 0; i < blockSeeds.length; i++) {
            blockSeeds[i] = r.nextLong();
        }
        finalNorm = LayerSupport.nearOne(r, Shape.of(config.modelDim()));
    }

    /** @return {@code new SplittableRandom(seed)} after {@code draws} values were drawn from it */
    private static SplittableRandom skipped(long seed, long draws) {
        if (JUMPS) {
            return new SplittableRandom(seed + draws * GAMMA);
        }
        SplittableRandom r = new SplittableRandom(seed);
        skip(r, draws);
        return r;
    }

    private static void skip(SplittableRandom r, long draws) {
        for (long i = 0; i < draws; i++) {
            r.nextDouble();
        }
    }

    private static boolean jumpsMatchDraws() {
        SplittableRandom drawn = new SplittableRandom(42);
        skip(drawn, 1001);
        return drawn.nextLong() == new SplittableRandom(42 + 1001 * GAMMA).nextLong();
    }

    @Override
    public synchronized HostTensor get(String name) {
        int d = config.modelDim();
        Shape table = Shape.of(Math.max(1, config.vocabSize()), d);
        if (config.vocabSize() > 0 && name.equals(LayerStack.EMBEDDING)) {
            return LayerSupport.uniform(new SplittableRandom(seed), table, Math.sqrt(3));
        }
        if (config.vocabSize() > 0 && !config.tiedHead() && name.equals(LayerStack.HEAD)) {
            return LayerSupport.uniform(skipped(seed, table.elementCount()), table, 1.0 / Math.sqrt(d));
        }
        if (name.equals(LayerStack.FINAL_NORM)) {
            drawBlockSeeds();
            return finalNorm;
        }
        if (name.startsWith(LayerStack.LAYER_PREFIX)) {
            String rest = name.substring(LayerStack.LAYER_PREFIX.length());
            int dot = rest.indexOf('.');
            int block = -1;
            try {
                block = dot > 0 ? Integer.parseInt(rest.substring(0, dot)) : -1;
            } catch (NumberFormatException e) {
                block = -1;
            }
            if (block >= 0 && block < blockSeeds.length) {
                drawBlockSeeds();
                if (block != cachedBlock) {
                    cached = null;
                    cached = Block.randomWeights(config.mixers().get(block), config.mlp(), blockSeeds[block]);
                    cachedBlock = block;
                }
                HostTensor t = cached.get(rest.substring(dot + 1));
                if (t != null) {
                    return t;
                }
            }
        }
        throw new IllegalArgumentException("weights: missing tensor '" + name + "'; the random weights of " + config
                + " have no such tensor");
    }
}
