package dev.based4j.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.conformance.hardening.HardeningScale;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.CheckpointException;
import dev.based4j.model.SafetensorsFile;
import dev.based4j.model.SafetensorsWriter;
import dev.based4j.model.TextTokenizer;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint files as untrusted input: safetensors files whose header lies (offsets past the end, overlapping or
 * gapped tensors, absurd shapes, a huge header length), random byte damage and truncation of safetensors,
 * {@code config.json}, {@code vocab.json} and {@code tokenizer.json}, and files far larger than such a file can be.
 * Each must be refused with {@link CheckpointException} naming the file, before any large allocation: the JVM runs
 * with a fixed 1 GiB heap, and a file that made the reader allocate what its header claims would fail with
 * {@link OutOfMemoryError} instead.
 */
class CheckpointFilesFuzzTest {
    private static final long SEED = 0xF11EL;

    private static int rounds() {
        return HardeningScale.configured() == HardeningScale.FULL ? 10_000 : 300;
    }

    /** A valid file of two small tensors. */
    private static byte[] validSafetensors(Path dir) throws IOException {
        Map<String, HostTensor> t = new LinkedHashMap<>();
        t.put("a", HostTensor.of(new double[] {1, 2, 3, 4, 5, 6}, Shape.of(2, 3), DType.F32));
        t.put("b", HostTensor.of(new double[] {7, 8}, Shape.of(2), DType.F32));
        Path p = dir.resolve("valid.safetensors");
        SafetensorsWriter.write(p, t);
        return Files.readAllBytes(p);
    }

    /** A file with the given header text, its length field {@code declaredLength} (null: the true length). */
    private static Path raw(Path dir, String name, String header, Long declaredLength, int dataBytes)
            throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength == null ? h.length : declaredLength).put(h);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static void refused(Path file, List<String> failures, String what) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.entries().keySet()) {
                f.tensor(n, DType.F32);
            }
            failures.add(what + ": accepted");
        } catch (CheckpointException e) {
            if (e.getMessage() == null || !e.getMessage().contains(file.getFileName().toString())) {
                failures.add(what + ": the message does not name the file: " + e.getMessage());
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            failures.add(what + ": " + e);
        }
    }

    @Nested
    class Safetensors {
        @Test
        void headersThatLieAreRefusedBeforeAnyLargeAllocation(@TempDir Path dir) throws IOException {
            List<String> failures = new ArrayList<>();
            String tensorA = "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";
            Map<String, String> lies = new LinkedHashMap<>();
            lies.put("offsets past the end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,2400]}}");
            lies.put("overlapping tensors", "{" + tensorA
                    + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}");
            lies.put("a gap between tensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}");
            lies.put("an absurd shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],"
                    + "\"data_offsets\":[0,24]}}");
            lies.put("a shape that does not match its bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000,1000],"
                    + "\"data_offsets\":[0,24]}}");
            lies.put("negative offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[-24,0]}}");
            lies.put("end before begin", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]}}");
            lies.put("an unknown dtype", "{\"a\":{\"dtype\":\"F128\",\"shape\":[2,3],\"data_offsets\":[0,24]}}");
            lies.put("deep nesting", "{\"__metadata__\":" + "[".repeat(5000) + "]".repeat(5000) + "}");
            lies.put("a huge number", "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + "9".repeat(5000)
                    + "],\"data_offsets\":[0,24]}}");
            int i = 0;
            for (Map.Entry<String, String> lie : lies.entrySet()) {
                refused(raw(dir, "lie" + i++ + ".safetensors", lie.getValue(), null, 24), failures, lie.getKey());
            }
            refused(raw(dir, "huge-header.safetensors", "{}", Long.MAX_VALUE, 0), failures, "header length 2^63-1");
            refused(raw(dir, "big-header.safetensors", "{}", 90_000_000L, 0), failures,
                    "a 90 MB header length in a small file");
            refused(raw(dir, "negative-header.safetensors", "{}", -2L, 0), failures,
                    "a negative header length");
            System.out.println("[hardening] safetensors: " + (lies.size() + 3) + " lying headers, " + failures.size()
                    + " failures");
            assertThat(failures).isEmpty();
        }

        @Test
        void randomDamageAndTruncationAreRefused(@TempDir Path dir) throws IOException {
            byte[] good = validSafetensors(dir);
            SplittableRandom random = new SplittableRandom(SEED);
            List<String> failures = new ArrayList<>();
            int accepted = 0;
            int n = rounds();
            Path p = dir.resolve("damaged.safetensors");
            for (int i = 0; i < n; i++) {
                byte[] bad = good.clone();
                String what;
                if (random.nextInt(3) == 0) {
                    int cut = random.nextInt(bad.length);
                    bad = Arrays.copyOf(bad, cut);
                    what = "truncated to " + cut;
                } else {
                    // damage the length or the header (data bytes are numbers: any value is valid there)
                    int headerEnd = 8 + (int) ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                    int at = random.nextInt(headerEnd);
                    bad[at] = (byte) random.nextInt(256);
                    what = "byte " + at + " set to " + (bad[at] & 0xFF);
                }
                Files.write(p, bad);
                try (SafetensorsFile f = SafetensorsFile.open(p)) {
                    for (String name : f.entries().keySet()) {
                        f.tensor(name, DType.F32);
                    }
                    accepted++; // a change that keeps the file valid (e.g. a space in the JSON, a digit of a name)
                } catch (CheckpointException e) {
                    if (!e.getMessage().contains("damaged.safetensors")) {
                        failures.add(what + ": message does not name the file: " + e.getMessage());
                    }
                } catch (RuntimeException | OutOfMemoryError e) {
                    failures.add(what + ": " + e);
                }
            }
            System.out.println("[hardening] safetensors: " + n + " damaged or truncated files, " + accepted
                    + " still valid after the change, " + failures.size() + " failures");
            assertThat(failures).isEmpty();
        }
    }

    @Nested
    class TextFiles {
        @Test
        void damagedConfigVocabularyAndTokenizerFilesAreRefusedWithCheckpointException(@TempDir Path dir)
                throws IOException {
            byte[] config = BasedConfig.tiny().toJson().getBytes(StandardCharsets.UTF_8);
            byte[] vocab = "{\"a\":0,\"b\":1,\"ab\":2,\"<|endoftext|>\":3}".getBytes(StandardCharsets.UTF_8);
            byte[] merges = "#version: 0.2\na b\n".getBytes(StandardCharsets.UTF_8);
            byte[] tokenizer = ("{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
                    + "\"merges\":[\"a b\"]}}").getBytes(StandardCharsets.UTF_8);
            SplittableRandom random = new SplittableRandom(SEED + 1);
            List<String> failures = new ArrayList<>();
            int n = rounds();
            int accepted = 0;
            for (int i = 0; i < n; i++) {
                int which = random.nextInt(3);
                byte[] good = which == 0 ? config : which == 1 ? vocab : tokenizer;
                byte[] bad = damage(good, random);
                Path file = dir.resolve(which == 0 ? "config.json" : which == 1 ? "vocab.json" : "tokenizer.json");
                Files.write(file, bad);
                Path mergesFile = dir.resolve("merges.txt");
                Files.write(mergesFile, merges);
                try {
                    switch (which) {
                        case 0 -> BasedConfig.read(file);
                        case 1 -> TextTokenizer.fromVocabAndMerges(file, mergesFile).close();
                        default -> TextTokenizer.fromTokenizerJson(file).close();
                    }
                    accepted++;
                } catch (CheckpointException e) {
                    if (e.getMessage() == null || !e.getMessage().contains(file.getFileName().toString())) {
                        failures.add(file.getFileName() + ": message does not name the file: " + e.getMessage());
                    }
                } catch (RuntimeException | OutOfMemoryError e) {
                    failures.add(file.getFileName() + " (" + new String(bad, StandardCharsets.UTF_8).strip()
                            .substring(0, Math.min(80, bad.length)) + "...): " + e);
                }
                if (failures.size() > 20) {
                    break;
                }
            }
            System.out.println("[hardening] config/vocab/tokenizer: " + n + " damaged files, " + accepted
                    + " still valid after the change, " + failures.size() + " failures");
            assertThat(failures).isEmpty();
        }

        @Test
        void filesLargerThanSuchAFileCanBeAreRefusedBeforeReading(@TempDir Path dir) throws IOException {
            Path config = sparse(dir.resolve("config.json"));
            Path tokenizer = sparse(dir.resolve("tokenizer.json"));
            List<String> failures = new ArrayList<>();
            for (Path p : List.of(config, tokenizer)) {
                try {
                    if (p == config) {
                        BasedConfig.read(p);
                    } else {
                        TextTokenizer.fromTokenizerJson(p).close();
                    }
                    failures.add(p.getFileName() + ": accepted");
                } catch (CheckpointException e) {
                    assertThat(e.getMessage()).contains(p.getFileName().toString(), "limit");
                } catch (RuntimeException | OutOfMemoryError e) {
                    failures.add(p.getFileName() + ": " + e);
                }
            }
            assertThat(failures).isEmpty();
        }

        /** A 3 GiB file of which one byte is written: sparse, so it costs no disk. */
        private static Path sparse(Path file) throws IOException {
            try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
                ch.write(ByteBuffer.wrap(new byte[] {'{'}), 3L << 30);
            }
            return file;
        }

        private static byte[] damage(byte[] good, SplittableRandom random) {
            byte[] bad = good.clone();
            return switch (random.nextInt(4)) {
                case 0 -> Arrays.copyOf(bad, random.nextInt(bad.length));
                case 1 -> {
                    bad[random.nextInt(bad.length)] = (byte) random.nextInt(256);
                    yield bad;
                }
                case 2 -> {
                    int at = random.nextInt(bad.length);
                    byte[] longer = new byte[bad.length + 1];
                    System.arraycopy(bad, 0, longer, 0, at);
                    longer[at] = (byte) "{}[]\",:0-9eE\\".charAt(random.nextInt(13));
                    System.arraycopy(bad, at, longer, at + 1, bad.length - at);
                    yield longer;
                }
                default -> {
                    String s = new String(bad, StandardCharsets.UTF_8);
                    yield s.replaceFirst("[0-9]+", random.nextBoolean() ? "-1" : "99999999999")
                            .getBytes(StandardCharsets.UTF_8);
                }
            };
        }
    }
}
