package dev.based4j.spark;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.model.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkFiles;

/**
 * The models of this JVM (an executor, or the driver in local mode), one per {@link ModelSpec}, loaded the first time
 * a task asks and kept until the JVM exits: a partition pays for the load only on the executor's first task. A load
 * that fails is not remembered, so a retried task tries again.
 */
final class ExecutorModels {
    private static final Map<ModelSpec, LoadedModel> MODELS = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeAll, "based4j-spark-models"));
    }

    private ExecutorModels() {}

    /**
     * @return the model of {@code spec}, loading it if this JVM has not yet
     * @throws IllegalStateException naming the places looked at when the folder is found nowhere, or the backend
     *     or checkpoint problem when it cannot be loaded
     */
    static LoadedModel get(ModelSpec spec) {
        return MODELS.computeIfAbsent(spec, ExecutorModels::load);
    }

    /** @return how many models this JVM holds (for tests that prove one load per executor) */
    static int loadedCount() {
        return MODELS.size();
    }

    private static LoadedModel load(ModelSpec spec) {
        Path folder = resolve(spec.path());
        Backend backend = spec.backend() == null ? Backends.select() : Backends.select(spec.backend());
        try {
            BasedModel model = BasedModel.load(folder, backend, spec.weightFormat(), spec.storedWeights());
            try {
                TextTokenizer tokenizer = TextTokenizer.isPresent(folder) ? TextTokenizer.load(folder) : null;
                return new LoadedModel(spec, folder, backend, model, tokenizer);
            } catch (RuntimeException | Error e) {
                model.close();
                throw e;
            }
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
    }

    /** Finds the folder as {@link ModelSpec} describes: absolute path, shipped files, working directory. */
    static Path resolve(String path) {
        Path given = Path.of(path);
        List<Path> candidates = new ArrayList<>();
        if (given.isAbsolute()) {
            candidates.add(given);
        } else {
            String shippedRoot = shippedRoot();
            if (shippedRoot != null) {
                // an executor's root is its working directory, given as "."
                candidates.add(Path.of(shippedRoot).toAbsolutePath().resolve(given).normalize());
            }
            Path local = given.toAbsolutePath().normalize();
            if (!candidates.contains(local)) {
                candidates.add(local);
            }
        }
        for (Path c : candidates) {
            if (Files.isDirectory(c)) {
                return c;
            }
        }
        throw new IllegalStateException("model path '" + path + "': no such folder on this executor; looked at "
                + candidates.stream().map(Path::toString).collect(java.util.stream.Collectors.joining(", "))
                + ". Put the folder on storage every executor mounts at the same absolute path, or ship it with the"
                + " job (spark-submit --files DIR/" + Checkpoint.CONFIG_FILE + ",DIR/" + Checkpoint.WEIGHTS_FILE
                + " with ModelSpec.SHIPPED_FILES, or --archives model.zip#NAME with NAME)");
    }

    private static String shippedRoot() {
        try {
            return SparkFiles.getRootDirectory();
        } catch (RuntimeException e) {
            // no SparkEnv in this JVM (the model is used outside a Spark job): nothing was shipped
            return null;
        }
    }

    private static void closeAll() {
        for (LoadedModel m : MODELS.values()) {
            try {
                m.close();
            } catch (RuntimeException e) {
                // the JVM is exiting; a model that cannot be closed frees its memory with the process
            }
        }
        MODELS.clear();
    }
}
