package dev.based4j.conformance;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Where golden files are read from: a folder on disk or the resources bundled with the suite. */
sealed interface GoldenSource {
    /** @return a description of {@code relative} for messages (a path or a resource name) */
    String describe(String relative);

    /** @return the size of {@code relative} in bytes, or -1 when it does not exist or is not a regular file */
    long size(String relative);

    /**
     * @return the bytes of {@code relative}
     * @throws IOException when it cannot be read, is not a regular file, or holds more than {@code limit} bytes (it
     *     is then not read further)
     */
    byte[] read(String relative, long limit) throws IOException;

    /** @return the sub-folders that hold a {@code case.json} (for folders without {@code index.json}) */
    List<String> caseFolders() throws IOException;

    /** @return all of {@code in}, refusing (without reading further) a stream of more than {@code limit} bytes */
    private static byte[] readAtMost(InputStream in, long limit, String what) throws IOException {
        int cap = (int) Math.min(limit, Integer.MAX_VALUE - 8);
        byte[] bytes = in.readNBytes(cap);
        if (bytes.length == cap && in.read() >= 0) {
            throw new IOException(what + " holds more than " + cap + " bytes");
        }
        return bytes;
    }

    /** A folder on disk. */
    record Folder(Path root) implements GoldenSource {
        @Override
        public String describe(String relative) {
            return root.resolve(relative).toString();
        }

        @Override
        public long size(String relative) {
            Path p = root.resolve(relative);
            try {
                return Files.isRegularFile(p) ? Files.size(p) : -1;
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public byte[] read(String relative, long limit) throws IOException {
            Path p = root.resolve(relative);
            if (!Files.isRegularFile(p)) {
                throw new IOException(p + " is not a regular file");
            }
            try (InputStream in = Files.newInputStream(p)) {
                return readAtMost(in, limit, p.toString());
            }
        }

        @Override
        public List<String> caseFolders() throws IOException {
            try (Stream<Path> children = Files.list(root)) {
                List<String> out = new ArrayList<>();
                children.filter(p -> Files.isRegularFile(p.resolve("case.json")))
                        .map(p -> p.getFileName().toString()).sorted().forEach(out::add);
                return out;
            }
        }
    }

    /** Resources next to {@link GoldenSet} under {@code golden/}, listed by {@code index.json}. */
    record Bundled(String base) implements GoldenSource {
        @Override
        public String describe(String relative) {
            return "bundled resource " + base + relative;
        }

        private URL url(String relative) {
            return GoldenSet.class.getResource(base + relative);
        }

        @Override
        public long size(String relative) {
            URL u = url(relative);
            if (u == null) {
                return -1;
            }
            try {
                URLConnection c = u.openConnection();
                long n = c.getContentLengthLong();
                if (n >= 0) {
                    return n;
                }
                try (InputStream in = c.getInputStream()) {
                    return in.transferTo(java.io.OutputStream.nullOutputStream());
                }
            } catch (IOException e) {
                return -1;
            }
        }

        @Override
        public byte[] read(String relative, long limit) throws IOException {
            try (InputStream in = GoldenSet.class.getResourceAsStream(base + relative)) {
                if (in == null) {
                    throw new IOException("no resource " + base + relative);
                }
                return readAtMost(in, limit, base + relative);
            }
        }

        @Override
        public List<String> caseFolders() {
            // resources cannot be listed inside a jar; the bundled set always has its index.json
            return List.of();
        }
    }
}
