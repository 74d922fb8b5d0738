package dev.based4j.model;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reading the small text files of a checkpoint (config, index, vocabulary, merges, tokenizer) as untrusted input:
 * the size is checked against a limit before anything is read, so a file that is too large (or a device file, or
 * a lie) is refused before any large allocation, and bad UTF-8 is refused rather than replaced.
 */
final class UntrustedFiles {
    /** Limit of {@code config.json}: released configs are about 2 KB. */
    static final long CONFIG_LIMIT = 1L << 20;
    /** Limit of the sharded index and the vocabulary files: GPT-2's vocab.json is about 1 MB. */
    static final long TABLE_LIMIT = 64L << 20;
    /** Limit of {@code tokenizer.json}: GPT-2's is about 2 MB; large multilingual ones about 20 MB. */
    static final long TOKENIZER_LIMIT = 256L << 20;

    private UntrustedFiles() {}

    /**
     * @return the file's text
     * @throws CheckpointException naming the file when it is missing, not a regular file, larger than
     *     {@code limit} bytes, or not UTF-8
     */
    static String readText(Path file, long limit) {
        return decode(file, readBytes(file, limit));
    }

    /**
     * @return the file's bytes, read through one open channel so that exactly the size checked is read
     * @throws CheckpointException naming the file when it is not a regular file, too large, or changes size while
     *     being read
     */
    static byte[] readBytes(Path file, long limit) {
        checkSize(file, limit);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > limit) {
                throw new CheckpointException(file + ": grew to " + size + " bytes while being read, above the " + limit
                        + "-byte limit");
            }
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) size);
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) {
                    throw new CheckpointException(file + ": truncated while being read (" + buf.position() + " of "
                            + size + " bytes)");
                }
            }
            if (ch.read(java.nio.ByteBuffer.allocate(1)) > 0) {
                throw new CheckpointException(file + ": grew while being read (more than the " + size
                        + " bytes it had when opened)");
            }
            return buf.array();
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** @return {@code bytes} as strict UTF-8 */
    static String decode(Path file, byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file + ": not valid UTF-8", e);
        }
    }

    /** Heap a text file takes per byte of it while it is read and parsed, at most: bytes, text and JSON tree. */
    static final long TEXT_HEAP_FACTOR = 8;

    /**
     * @throws CheckpointException naming the file when it is missing or not a regular file (a FIFO would block the
     *     reader until a writer comes, a device such as {@code /dev/zero} would never end)
     */
    static void requireRegularFile(Path file) {
        if (Files.isRegularFile(file)) {
            return;
        }
        throw new CheckpointException(file + ": " + (Files.exists(file) ? "not a regular file (" + kind(file)
                + "); expected a file of the checkpoint" : "no such file"));
    }

    /** @return what a path that is not a regular file is, for messages */
    static String kind(Path file) {
        try {
            var a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
            if (a.isDirectory()) {
                return "a directory";
            }
            if (a.isOther()) {
                return "a FIFO, socket or device";
            }
            return "not a regular file";
        } catch (IOException e) {
            return "unreadable: " + e.getMessage();
        }
    }

    /**
     * @throws CheckpointException naming the file when it is not a regular file, is larger than {@code limit}, or
     *     would take more heap to read and parse ({@value #TEXT_HEAP_FACTOR} times its size) than the heap can give
     */
    static void checkSize(Path file, long limit) {
        requireRegularFile(file);
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (size > limit) {
            throw new CheckpointException(file + ": " + size + " bytes is above the " + limit
                    + "-byte limit for this kind of file (refused before reading it)");
        }
        long heap = MemoryBudget.heapBytes();
        if (size * TEXT_HEAP_FACTOR > heap) {
            throw new CheckpointException(file + ": " + size + " bytes needs up to " + size * TEXT_HEAP_FACTOR
                    + " bytes of heap to read and parse, above the " + heap + " bytes " + MemoryBudget.heapSource()
                    + " (refused before reading it)");
        }
    }
}
