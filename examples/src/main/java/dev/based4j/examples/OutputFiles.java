package dev.based4j.examples;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Checks the files and folders a command will write, before the command does its work, so that a run of minutes is
 * not lost to a path that cannot be written at its end; and turns a write that fails anyway (a full disk) into one
 * line naming the option. Nothing is created or truncated by a check.
 */
final class OutputFiles {
    private OutputFiles() {}

    /**
     * Checks that {@code file} can be written: it is a regular file that may be written, or it does not exist and
     * its nearest existing ancestor is a folder that may be written (the writers create missing folders).
     * Folders, devices and other special files are refused: the reports need a real file.
     *
     * @param option the option that named the file, e.g. {@code --json}
     * @throws Based4j.UserError naming the option and the file
     */
    static void checkFile(String option, Path file) {
        Path absolute = file.toAbsolutePath().normalize();
        if (Files.exists(absolute)) {
            if (Files.isDirectory(absolute)) {
                throw new Based4j.UserError(option + ": " + file + " is a folder; expected a file to write");
            }
            if (!Files.isRegularFile(absolute)) {
                throw new Based4j.UserError(option + ": " + file + " is not a regular file (a device, pipe or "
                        + "socket); expected a file to write");
            }
            if (!Files.isWritable(absolute)) {
                throw new Based4j.UserError(option + ": " + file + " cannot be written (permission denied)");
            }
            return;
        }
        checkCreatable(option, file, absolute.getParent());
    }

    /**
     * Checks that {@code folder} can hold new files: it is a folder that may be written, or it does not exist and
     * its nearest existing ancestor is one.
     *
     * @param option the option that named the folder, e.g. {@code --out}
     * @throws Based4j.UserError naming the option and the folder
     */
    static void checkFolder(String option, Path folder) {
        Path absolute = folder.toAbsolutePath().normalize();
        if (Files.exists(absolute)) {
            if (!Files.isDirectory(absolute)) {
                throw new Based4j.UserError(option + ": " + folder + " exists and is not a folder");
            }
            if (!Files.isWritable(absolute)) {
                throw new Based4j.UserError(option + ": folder " + folder + " cannot be written (permission denied)");
            }
            return;
        }
        checkCreatable(option, folder, absolute.getParent());
    }

    private static void checkCreatable(String option, Path target, Path parent) {
        Path ancestor = parent;
        while (ancestor != null && !Files.exists(ancestor, LinkOption.NOFOLLOW_LINKS) && !Files.exists(ancestor)) {
            ancestor = ancestor.getParent();
        }
        if (ancestor == null) {
            throw new Based4j.UserError(option + ": " + target + " cannot be created: no part of its path exists");
        }
        if (!Files.isDirectory(ancestor)) {
            throw new Based4j.UserError(option + ": " + target + " cannot be created: " + ancestor
                    + " is not a folder");
        }
        if (!Files.isWritable(ancestor)) {
            throw new Based4j.UserError(option + ": " + target + " cannot be created: folder " + ancestor
                    + " cannot be written (permission denied)");
        }
    }

    /**
     * Runs a write and turns its failure into a user error naming the option (the work before it is done; what
     * went wrong is the disk or the path).
     *
     * @throws Based4j.UserError naming the option and the file when the write fails
     */
    static void write(String option, Path file, Runnable writer) {
        try {
            writer.run();
        } catch (UncheckedIOException e) {
            throw new Based4j.UserError(option + ": writing " + file + " failed: " + reason(e));
        }
    }

    /** @return why an I/O operation failed, without the path the caller names anyway */
    static String reason(UncheckedIOException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        if (cause instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        if (cause instanceof java.nio.file.NoSuchFileException) {
            return "no such file or folder";
        }
        return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
    }
}
