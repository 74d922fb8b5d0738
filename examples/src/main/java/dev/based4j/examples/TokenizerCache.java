package dev.based4j.examples;

import dev.based4j.model.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The folder into which DJL unpacks the tokenizer's native library, checked before a model is loaded so that an
 * unusable folder is one line naming it and the variable that moves it, not a stack trace from DJL's loader and a
 * tokenizer reported as broken. The folder follows DJL's rule ({@code ai.djl.util.Utils}): {@code RUST_LIBRARY_PATH}
 * names the library directly (no folder is used); else {@code ENGINE_CACHE_DIR}, else {@code DJL_CACHE_DIR} (each an
 * environment variable first, then a system property), else {@code ~/.djl.ai} (the temporary folder's
 * {@code .djl.ai} when the home folder cannot be written); the library goes into its {@code tokenizers} folder.
 */
final class TokenizerCache {
    private TokenizerCache() {}

    /** @return the folder DJL unpacks the tokenizer library into, or null when {@code RUST_LIBRARY_PATH} is set */
    static Path folder() {
        if (setting("RUST_LIBRARY_PATH") != null) {
            return null;
        }
        String engine = setting("ENGINE_CACHE_DIR");
        if (engine != null) {
            return Path.of(engine).resolve("tokenizers");
        }
        String cache = setting("DJL_CACHE_DIR");
        if (cache != null) {
            return Path.of(cache).resolve("tokenizers");
        }
        Path home = Path.of(System.getProperty("user.home"));
        Path base = Files.isWritable(home) ? home : Path.of(System.getProperty("java.io.tmpdir"));
        return base.resolve(".djl.ai").resolve("tokenizers");
    }

    /** @return which setting chose the folder, for messages */
    private static String chosenBy() {
        if (setting("ENGINE_CACHE_DIR") != null) {
            return "ENGINE_CACHE_DIR";
        }
        return setting("DJL_CACHE_DIR") != null ? "DJL_CACHE_DIR" : "the default; DJL_CACHE_DIR moves it";
    }

    private static String setting(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            v = System.getProperty(name);
        }
        return v == null || v.isEmpty() ? null : v;
    }

    /**
     * Checks that the folder exists and can be written, or can be created.
     *
     * @param option the option that needs the tokenizer, e.g. {@code --prompt}
     * @throws Based4j.UserError naming the folder, why it cannot be used and how to move it
     */
    static void check(String option) {
        Path folder = folder();
        if (folder == null) {
            return;
        }
        try {
            OutputFiles.checkFolder(option, folder);
        } catch (Based4j.UserError e) {
            throw new Based4j.UserError(option + ": the tokenizer's native library is unpacked into DJL's cache folder "
                    + folder + " (" + chosenBy() + "), which cannot be used: "
                    + e.getMessage().substring(e.getMessage().indexOf(": ") + 2)
                    + "; set DJL_CACHE_DIR to a folder that can be written");
        }
    }

    /**
     * Loads a model folder's tokenizer; a failure to load the native library is reported against the cache folder,
     * not the tokenizer's files.
     *
     * @param option the option that needs the tokenizer, for the message
     * @throws Based4j.UserError naming the cache folder when the native library cannot be loaded
     */
    static TextTokenizer load(String option, Path modelFolder) {
        try {
            return TextTokenizer.load(modelFolder);
        } catch (RuntimeException | LinkageError e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof LinkageError || String.valueOf(t.getMessage()).contains("native library")) {
                    throw new Based4j.UserError(option + ": the tokenizer's native library could not be loaded from "
                            + "DJL's cache folder " + folder() + " (" + chosenBy() + "): " + t.getMessage()
                            + "; set DJL_CACHE_DIR to a folder that can be written");
                }
            }
            throw e;
        }
    }
}
