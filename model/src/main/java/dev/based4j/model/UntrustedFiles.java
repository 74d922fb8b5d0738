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
        checkSize(file, limit);
        try {
            byte[] bytes = Files.readAllBytes(file);
            if (bytes.length > limit) {
                throw new CheckpointException(file + ": grew to " + bytes.length + " bytes while being read, above the "
                        + limit + "-byte limit");
            }
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException(file + ": not valid UTF-8", e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * @throws CheckpointException naming the file when it is not a regular file or is larger than {@code limit}
     */
    static void checkSize(Path file, long limit) {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointException(file + ": cannot read: not a regular file");
        }
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
    }
}
