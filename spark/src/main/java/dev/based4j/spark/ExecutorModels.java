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
            BasedModel model = BasedModel.load(folder, backend, spec.weightFormat());
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

    /** Finds the folder as {@link ModelSpec} describes: absolute path, shipped folder, working directory. */
    static Path resolve(String path) {
        List<String> tried = new ArrayList<>();
        Path given = Path.of(path);
        if (given.isAbsolute()) {
            if (Files.isDirectory(given)) {
                return given;
            }
            tried.add(given.toString());
        }
        String shippedRoot = shippedRoot();
        if (shippedRoot != null && !given.isAbsolute()) {
            Path shipped = Path.of(shippedRoot).resolve(given);
            if (Files.isDirectory(shipped)) {
                return shipped;
            }
            tried.add(shipped + " (files shipped with the job)");
        }
        if (!given.isAbsolute()) {
            Path local = given.toAbsolutePath();
            if (Files.isDirectory(local)) {
                return local;
            }
            tried.add(local + " (working directory)");
        }
        throw new IllegalStateException("model path '" + path + "': no such folder on this executor; looked at "
                + String.join(", ", tried) + ". Put the folder on storage every executor mounts at the same absolute"
                + " path, or ship it with SparkContext.addFile(folder, true) / spark-submit --archives and give its"
                + " name; it must hold " + Checkpoint.CONFIG_FILE + " and " + Checkpoint.WEIGHTS_FILE);
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
